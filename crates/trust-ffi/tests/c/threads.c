/*
 * threads.c: the thread-safety promises of docs/ffi.md, exercised: one home, one context, one
 * webhook verifier and one redactor shared by several pthreads that seal, open, verify and
 * redact at the same time; plus concurrent appends to one audit log, whose final size must be
 * exactly the number of appends. Under valgrind and ASan (the CI modes) this also checks that
 * concurrent use neither leaks nor touches freed memory.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define THREADS 4
#define ROUNDS 25

static trust_home *home;
static trust_context *ctx;
static trust_webhook_verifier *verifier;
static trust_redactor *redactor;
static trust_audit_log *audit_log;

static const char *STRIPE_BODY = "{\"id\":\"evt_test_webhook\",\"object\":\"event\"}";
static const char *STRIPE_SIG = "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990";

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  char plaintext[64];
  for (int round = 0; round < ROUNDS; round++) {
    trust_error *err = NULL;
    snprintf(plaintext, sizeof plaintext, "secret of thread %d round %d", id, round);

    trust_bytes *sealed = NULL, *opened = NULL, *token = NULL;
    CHECK_OK(trust_home_seal(home, S("orders"), ctx, S(plaintext), &sealed, &err), err);
    CHECK_OK(trust_home_open(home, ctx, trust_bytes_data(sealed), trust_bytes_len(sealed), &opened, &err), err);
    CHECK(bytes_eq_str(opened, plaintext));
    trust_bytes_free(opened);
    trust_bytes_free(sealed);
    CHECK_OK(trust_home_seal_token(home, S("orders"), ctx, S(plaintext), &token, &err), err);
    CHECK_OK(trust_home_open_token(home, ctx, trust_bytes_data(token), trust_bytes_len(token), &opened, &err), err);
    CHECK(bytes_eq_str(opened, plaintext));
    trust_bytes_free(opened);
    trust_bytes_free(token);

    CHECK_OK(trust_webhook_verify_stripe(verifier, S(STRIPE_SIG), S(STRIPE_BODY), 1700000000, &err), err);
    CHECK_STATUS(trust_webhook_verify_stripe(verifier, S(STRIPE_SIG), S("{}"), 1700000000, NULL), TRUST_VERIFICATION_FAILED);

    trust_bytes *redacted = NULL;
    CHECK_OK(trust_redactor_redact(redactor, S("card 4111 1111 1111 1111"), &redacted, &err), err);
    CHECK(bytes_eq_str(redacted, "card [REDACTED:card]"));
    trust_bytes_free(redacted);

    uint64_t index = 0;
    CHECK_OK(trust_audit_log_append(audit_log, S("thread.round"), NULL, 0, NULL, 0, NULL, 0, &index, &err), err);
  }
  return NULL;
}

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  char home_dir[4096], key_file[4096], log_dir[4096];
  snprintf(home_dir, sizeof home_dir, "%s/home", base);
  snprintf(key_file, sizeof key_file, "%s/root.key", base);
  snprintf(log_dir, sizeof log_dir, "%s/audit", base);
  trust_error *err = NULL;

  CHECK_OK(trust_home_init_key_file(S(home_dir), S(key_file), &home, &err), err);
  CHECK_OK(trust_home_create_keyring(home, S("orders"), TRUST_SUITE_AES_256_GCM, &err), err);
  CHECK_OK(trust_context_new(&ctx, &err), err);
  CHECK_OK(trust_context_add(ctx, S("tenant"), S("acme"), &err), err);
  const uint8_t *secrets[] = {(const uint8_t *)"whsec_test_secret"};
  size_t lens[] = {strlen("whsec_test_secret")};
  CHECK_OK(trust_webhook_verifier_new(secrets, lens, 1, TRUST_WEBHOOK_SCHEME_DEFAULT, &verifier, &err), err);
  CHECK_OK(trust_redactor_new(NULL, NULL, 0, 0, &redactor, &err), err);
  trust_bytes *vkey = NULL;
  CHECK_OK(trust_audit_log_init(S(log_dir), S("example.com/audit/threads"), &vkey, &err), err);
  CHECK_OK(trust_audit_log_open(S(log_dir), &audit_log, &err), err);

  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; i++) {
    CHECK(pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) == 0);
  }
  for (int i = 0; i < THREADS; i++) {
    CHECK(pthread_join(threads[i], NULL) == 0);
  }

  /* Every append from every thread landed exactly once, and the log verifies. */
  uint64_t size = 0;
  CHECK_OK(trust_audit_log_size(audit_log, &size, &err), err);
  CHECK(size == (uint64_t)THREADS * ROUNDS);
  trust_bytes *note = NULL, *report = NULL;
  CHECK_OK(trust_audit_log_checkpoint(audit_log, &note, &err), err);
  CHECK_OK(trust_audit_log_verify(S(log_dir), trust_bytes_data(vkey), trust_bytes_len(vkey), &report, &err), err);
  trust_bytes_free(note);
  trust_bytes_free(report);

  trust_bytes_free(vkey);
  trust_audit_log_free(audit_log);
  trust_redactor_free(redactor);
  trust_webhook_verifier_free(verifier);
  trust_context_free(ctx);
  trust_home_free(home);
  printf("threads: ok (%d threads x %d rounds)\n", THREADS, ROUNDS);
  return 0;
}
