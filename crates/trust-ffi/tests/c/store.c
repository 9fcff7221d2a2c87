/*
 * store.c: trust_home_init_store / trust_home_open_store: a directory, a postgres:// URL (when
 * the harness gives one in TRUST_TEST_STORE_URL: a fresh schema on the test server), and what
 * is refused (empty, unsupported or misused schemes, an unreachable server, a key file and a
 * passphrase at once). A URL's password never appears in an error message.
 */
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define NONE NULL, 0

/* Seals a token with `a` and opens it with `b`. */
static void round_trip(trust_home *a, trust_home *b) {
  trust_error *err = NULL;
  trust_context *ctx = NULL;
  CHECK_OK(trust_context_new(&ctx, &err), err);
  CHECK_OK(trust_context_add(ctx, S("tenant"), S("acme"), &err), err);
  trust_bytes *token = NULL, *opened = NULL;
  CHECK_OK(trust_home_seal_token(a, S("orders"), ctx, S("shpat_store"), &token, &err), err);
  CHECK_OK(trust_home_open_token(b, ctx, trust_bytes_data(token), trust_bytes_len(token), &opened, &err), err);
  CHECK(bytes_eq_str(opened, "shpat_store"));
  trust_bytes_free(token);
  trust_bytes_free(opened);
  trust_context_free(ctx);
}

/* Subject keys in the home's own store: sealed through one handle, opened through another made
 * from a second home handle; after an erasure a fresh handle cannot open it. */
static void subjects_shared(trust_home *a, trust_home *b, const char *signing) {
  trust_error *err = NULL;
  trust_subjects *sa = NULL, *sb = NULL, *sc = NULL;
  CHECK_OK(trust_subjects_in_home(a, S(signing), &sa, &err), err);
  CHECK_OK(trust_subjects_in_home(b, S(signing), &sb, &err), err);
  trust_context *ctx = NULL;
  CHECK_OK(trust_context_new(&ctx, &err), err);
  trust_bytes *sealed = NULL, *opened = NULL, *receipt = NULL;
  CHECK_OK(trust_subjects_seal(sa, S("orders"), S("alice@example.com"), ctx, S("alice's address"), &sealed, &err), err);
  CHECK_OK(trust_subjects_open(sb, ctx, trust_bytes_data(sealed), trust_bytes_len(sealed), &opened, &err), err);
  CHECK(bytes_eq_str(opened, "alice's address"));
  trust_bytes_free(opened);
  opened = NULL;
  CHECK_OK(trust_subjects_erase(sa, S("orders"), S("alice@example.com"), NONE, 0, NULL, &receipt, &err), err);
  trust_bytes_free(receipt);
  CHECK_OK(trust_subjects_in_home(b, S(signing), &sc, &err), err);
  CHECK_STATUS(trust_subjects_open(sc, ctx, trust_bytes_data(sealed), trust_bytes_len(sealed), &opened, &err),
               TRUST_KEY_UNAVAILABLE);
  trust_error_free(err);
  CHECK(opened == NULL);
  CHECK_STATUS(trust_subjects_in_home(a, NONE, &sc, NULL), TRUST_INVALID_ARGUMENT);
  CHECK_STATUS(trust_subjects_in_home(NULL, S(signing), &sc, NULL), TRUST_NULL_ARGUMENT);
  trust_bytes_free(sealed);
  trust_context_free(ctx);
  trust_subjects_free(sa);
  trust_subjects_free(sb);
  trust_subjects_free(sc);
}

static void expect_refused(trust_status got, trust_error *err, trust_status status, const char *code,
                           const char *secret, int line) {
  if (got != status) {
    fprintf(stderr, "store.c:%d: got %s, expected %s\n", line, trust_status_str(got), trust_status_str(status));
    exit(1);
  }
  if (secret != NULL && strstr(trust_error_message(err), secret) != NULL) {
    fprintf(stderr, "store.c:%d: the error shows the password: %s\n", line, trust_error_message(err));
    exit(1);
  }
  expect_error(err, status, code, __FILE__, line);
}
#define REFUSED(call, status, code, secret)                      \
  do {                                                           \
    trust_error *e_ = NULL;                                      \
    trust_home *h_ = NULL;                                       \
    trust_status s_ = (call);                                    \
    CHECK(h_ == NULL);                                           \
    expect_refused(s_, e_, status, code, secret, __LINE__);      \
  } while (0)

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  char dir[4096], key[4096], key2[4096];
  snprintf(dir, sizeof dir, "%s/home", base);
  snprintf(key, sizeof key, "%s/root.key", base);
  snprintf(key2, sizeof key2, "%s/db-root.key", base);
  trust_error *err = NULL;

  /* A directory through the store functions: the same home the directory functions make. */
  trust_home *a = NULL, *b = NULL;
  CHECK_OK(trust_home_init_store(S(dir), S(key), &a, &err), err);
  CHECK_OK(trust_home_create_keyring(a, S("orders"), TRUST_SUITE_AES_256_GCM, &err), err);
  CHECK_OK(trust_home_open_store(S(dir), NONE, NONE, &b, &err), err);
  round_trip(a, b);
  trust_home_free(b);
  b = NULL;
  CHECK_OK(trust_home_open_key_file(S(dir), S(key), &b, &err), err);
  round_trip(b, a);
  trust_home_free(b);
  b = NULL;
  CHECK_OK(trust_home_open_store(S(dir), NONE, NONE, &b, &err), err);
  char signing[4096];
  snprintf(signing, sizeof signing, "%s/signing.p8", base);
  subjects_shared(a, b, signing);
  trust_home_free(b);
  b = NULL;
  /* Its vault works (a local home). */
  trust_vault *vault = NULL;
  CHECK_OK(trust_vault_new(a, NONE, NULL, &vault, &err), err);
  trust_vault_free(vault);
  trust_home_free(a);

  REFUSED(trust_home_init_store(NONE, S(key), &h_, &e_), TRUST_INVALID_ARGUMENT, "EMPTY_PATH", NULL);
  REFUSED(trust_home_open_store(NONE, NONE, NONE, &h_, &e_), TRUST_INVALID_ARGUMENT, "EMPTY_PATH", NULL);
  REFUSED(trust_home_init_store(S(dir), NONE, &h_, &e_), TRUST_INVALID_ARGUMENT, "EMPTY_PATH", NULL);
  REFUSED(trust_home_open_store(S(dir), S(key), S("a passphrase"), &h_, &e_), TRUST_INVALID_ARGUMENT,
          "INVALID_ARGUMENT", NULL);
  REFUSED(trust_home_init_store(S(dir), S(key), &h_, &e_), TRUST_INVALID_ARGUMENT, "HOME_EXISTS", NULL);
  REFUSED(trust_home_open_store(S("mysql://app:Hidden-Pw-1@db/x"), NONE, NONE, &h_, &e_), TRUST_INVALID_ARGUMENT,
          "STORE_URL_UNSUPPORTED", "Hidden-Pw-1");
  REFUSED(trust_home_init_store(S("redis://:Hidden-Pw-2@127.0.0.1:6379/"), S(key2), &h_, &e_),
          TRUST_INVALID_ARGUMENT, "STORE_URL_UNSUPPORTED", "Hidden-Pw-2");
  REFUSED(trust_home_open_store(S("postgres://trust:Hidden-Pw-3@127.0.0.1:1/x?connect_timeout=2"), NONE, NONE, &h_,
                                &e_),
          TRUST_INPUT_UNREADABLE, "STORE_UNREACHABLE", "Hidden-Pw-3");
  CHECK_STATUS(trust_home_open_store(S(dir), NONE, NONE, NULL, NULL), TRUST_NULL_ARGUMENT);

  const char *url = getenv("TRUST_TEST_STORE_URL");
  if (url == NULL) {
    puts("store: ok (directory only: no TRUST_TEST_STORE_URL)");
    return 0;
  }
  /* A database home: two handles (two workers) share keyrings through it. */
  CHECK_OK(trust_home_init_store(S(url), S(key2), &a, &err), err);
  CHECK_OK(trust_home_create_keyring(a, S("orders"), TRUST_SUITE_AES_256_GCM, &err), err);
  CHECK_OK(trust_home_open_store(S(url), S(key2), NONE, &b, &err), err);
  round_trip(a, b);
  round_trip(b, a);
  subjects_shared(a, b, signing);
  uint32_t version = 0;
  CHECK_OK(trust_home_rotate(b, S("orders"), true, &version, &err), err);
  CHECK(version == 2);
  trust_bytes *names = NULL;
  CHECK_OK(trust_home_keyrings(a, &names, &err), err);
  CHECK(bytes_eq_str(names, "[\"orders\"]"));
  trust_bytes_free(names);
  /* The wrong key file is refused. */
  trust_home *c = NULL;
  CHECK_STATUS(trust_home_open_store(S(url), S(key), NONE, &c, &err), TRUST_KEY_UNAVAILABLE);
  trust_error_free(err);
  err = NULL;
  CHECK(c == NULL);
  /* The vault and MFA of a database home: what one worker stores, another reads. */
  trust_vault *va = NULL, *vb = NULL;
  CHECK_OK(trust_vault_new(a, NONE, NULL, &va, &err), err);
  CHECK_OK(trust_vault_new(b, NONE, NULL, &vb, &err), err);
  uint32_t sv = 0;
  CHECK_OK(trust_vault_put(va, S("w"), S("acme/shopify"), S("shpat_db"), 0, NULL, NULL, 0, 0, NONE, &sv, &err), err);
  trust_bytes *value = NULL;
  CHECK_OK(trust_vault_get(vb, S("w"), S("acme/shopify"), S("db interop"), 0, &value, NULL, NULL, &err), err);
  CHECK(bytes_eq_str(value, "shpat_db"));
  trust_bytes_free(value);
  trust_vault_free(va);
  trust_vault_free(vb);
  trust_mfa *ma = NULL, *mb = NULL;
  CHECK_OK(trust_mfa_new(a, NONE, NULL, &ma, &err), err);
  CHECK_OK(trust_mfa_new(b, NONE, NULL, &mb, &err), err);
  trust_bytes *uri = NULL;
  CHECK_OK(trust_mfa_enroll(ma, S("alice"), NONE, S("12345678901234567890"), TRUST_MFA_SHA1, 8, &uri, &err), err);
  trust_bytes_free(uri);
  CHECK_OK(trust_mfa_verify(mb, S("alice"), NONE, S("94287082"), 59, NULL, &err), err);
  /* The code was burnt in the database: the other worker refuses it. */
  CHECK_STATUS(trust_mfa_verify(ma, S("alice"), NONE, S("94287082"), 59, NULL, &err), TRUST_VERIFICATION_FAILED);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "MFA_REJECTED");
  err = NULL;
  trust_mfa_free(ma);
  trust_mfa_free(mb);
  trust_home_free(a);
  trust_home_free(b);
  puts("store: ok (directory and PostgreSQL)");
  return 0;
}
