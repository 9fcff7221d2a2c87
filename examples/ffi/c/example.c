/*
 * example.c: the trust C ABI from a C program, the way a connector back end uses it.
 *
 *   1. verify a Shopify webhook (raw body + X-Shopify-Hmac-Sha256), and reject a forged one;
 *   2. seal an Odoo API key into a tle1 token for a database column, and open it again;
 *   3. append who did what to the tamper-evident audit log, and verify the log.
 *
 * Build (after `cargo build --release -p trust-ffi` and crates/trust-ffi/install.sh PREFIX):
 *   cc -std=c11 example.c $(pkg-config --cflags --libs trust) -o example
 * The program checks every result itself and exits non-zero on the first surprise.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trust.h"

#define S(str) (const uint8_t *)(str), strlen(str)

/* Prints the failure and exits: what every call site does with a status. */
static void must(trust_status status, trust_error *err, const char *what) {
  if (status == TRUST_OK) return;
  fprintf(stderr, "%s failed: %s (%s)\n", what, trust_status_str(status),
          err ? trust_error_message(err) : "no detail");
  trust_error_free(err);
  exit(1);
}

int main(void) {
  trust_error *err = NULL;
  if (trust_abi_version() != TRUST_ABI_VERSION) {
    fprintf(stderr, "libtrust ABI %u, header ABI %u\n", trust_abi_version(), TRUST_ABI_VERSION);
    return 1;
  }
  printf("%s\n", trust_version());

  /* 1. Shopify webhook: secret "hush", body and HMAC as Shopify sends them. */
  const uint8_t *secrets[] = {(const uint8_t *)"hush"};
  size_t secret_lens[] = {4};
  trust_webhook_verifier *verifier = NULL;
  must(trust_webhook_verifier_new(secrets, secret_lens, 1, TRUST_WEBHOOK_SCHEME_DEFAULT, &verifier, &err), err,
       "verifier");
  const char *body = "{\"id\":1,\"email\":\"a@b.c\",\"note\":\"caf\xc3\xa9\"}";
  const char *hmac = "y6QjIArjFx3gEoeTLJw77ufusmczpg61ege7jjodI/E=";
  must(trust_webhook_verify_shopify(verifier, S(hmac), S(body), &err), err, "verify shopify webhook");
  trust_status forged = trust_webhook_verify_shopify(verifier, S(hmac), S("{\"id\":2}"), &err);
  if (forged != TRUST_VERIFICATION_FAILED || strcmp(trust_error_code(err), "SIGNATURE_INVALID") != 0) {
    fprintf(stderr, "a forged webhook was not rejected\n");
    return 1;
  }
  trust_error_free(err);
  err = NULL;
  printf("webhook: authentic delivery accepted, forged one rejected\n");
  trust_webhook_verifier_free(verifier);

  /* 2. Seal a credential into a token bound to its tenant, then open it. */
  char dir[] = "./trust-example-XXXXXX";
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  char home_dir[256], key_file[256], log_dir[256];
  snprintf(home_dir, sizeof home_dir, "%s/home", dir);
  snprintf(key_file, sizeof key_file, "%s/root.key", dir);
  snprintf(log_dir, sizeof log_dir, "%s/audit", dir);
  trust_home *home = NULL;
  must(trust_home_init_key_file(S(home_dir), S(key_file), &home, &err), err, "init home");
  must(trust_home_create_keyring(home, S("credentials"), TRUST_SUITE_AES_256_GCM, &err), err, "create keyring");
  trust_context *ctx = NULL;
  must(trust_context_new(&ctx, &err), err, "context");
  must(trust_context_add(ctx, S("tenant"), S("acme"), &err), err, "context");
  trust_bytes *token = NULL, *plain = NULL;
  must(trust_home_seal_token(home, S("credentials"), ctx, S("odoo-api-key-123"), &token, &err), err, "seal");
  must(trust_home_open_token(home, ctx, trust_bytes_data(token), trust_bytes_len(token), &plain, &err), err,
       "open");
  if (trust_bytes_len(plain) != 16 || memcmp(trust_bytes_data(plain), "odoo-api-key-123", 16) != 0) {
    fprintf(stderr, "the token did not open to the sealed secret\n");
    return 1;
  }
  printf("token: %.12s... opens to the sealed secret\n", (const char *)trust_bytes_data(token));
  trust_bytes_free(plain);
  trust_bytes_free(token);
  trust_context_free(ctx);
  trust_home_free(home);

  /* 3. Audit: append, then verify the whole log with the auditor's key. */
  trust_bytes *vkey = NULL, *report = NULL;
  trust_audit_log *log = NULL;
  uint64_t index = 0;
  must(trust_audit_log_init(S(log_dir), S("example.com/audit"), &vkey, &err), err, "audit init");
  must(trust_audit_log_open(S(log_dir), &log, &err), err, "audit open");
  must(trust_audit_log_append(log, S("credential.seal"), S("ops@example.com"), S("acme"), NULL, 0, &index, &err), err,
       "append");
  must(trust_audit_log_append(log, S("webhook.accept"), NULL, 0, NULL, 0, S(body), &index, &err), err, "append");
  if (index != 1) {
    fprintf(stderr, "unexpected index %llu\n", (unsigned long long)index);
    return 1;
  }
  trust_audit_log_free(log);
  must(trust_audit_log_verify(S(log_dir), trust_bytes_data(vkey), trust_bytes_len(vkey), &report, &err), err,
       "verify log");
  if (strstr((const char *)trust_bytes_data(report), "\"entries\":2") == NULL) {
    fprintf(stderr, "unexpected report: %s\n", (const char *)trust_bytes_data(report));
    return 1;
  }
  printf("audit: 2 entries appended, log verifies\n");
  trust_bytes_free(report);
  trust_bytes_free(vkey);
  printf("example: ok\n");
  return 0;
}
