/*
 * home.c: trust_home_* and trust_context_*: create and open homes (key file and passphrase),
 * keyrings, rotation and listing, seal/open of binary envelopes and tle1 tokens bound to a
 * context, and every failure a host must be able to tell apart.
 */
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)

static char dir_buf[4096];

static const char *path(const char *name) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  snprintf(dir_buf, sizeof dir_buf, "%s/%s", base, name);
  return dir_buf;
}

static trust_context *context(const char *tenant, const char *record) {
  trust_context *ctx = NULL;
  trust_error *err = NULL;
  CHECK_OK(trust_context_new(&ctx, &err), err);
  CHECK_OK(trust_context_add(ctx, S("tenant"), S(tenant), &err), err);
  CHECK_OK(trust_context_add(ctx, S("record"), S(record), &err), err);
  return ctx;
}

static void test_key_file_home(void) {
  trust_home *home = NULL;
  trust_error *err = NULL;
  char home_dir[4096], key_file[4096];
  snprintf(home_dir, sizeof home_dir, "%s", path("home"));
  snprintf(key_file, sizeof key_file, "%s", path("root.key"));

  CHECK_OK(trust_home_init_key_file(S(home_dir), S(key_file), &home, &err), err);
  CHECK_OK(trust_home_create_keyring(home, S("orders"), TRUST_SUITE_AES_256_GCM, &err), err);
  CHECK_OK(trust_home_create_keyring(home, S("tokens"), TRUST_SUITE_XCHACHA20_POLY1305, &err), err);

  trust_context *ctx = context("acme", "order-1042");
  trust_context *other = context("acme", "order-9");
  const char *secret = "shpat_0123456789abcdef";

  /* Binary envelope round trip. */
  trust_bytes *sealed = NULL, *opened = NULL;
  CHECK_OK(trust_home_seal(home, S("orders"), ctx, S(secret), &sealed, &err), err);
  CHECK(trust_bytes_len(sealed) > strlen(secret));
  CHECK_OK(trust_home_open(home, ctx, trust_bytes_data(sealed), trust_bytes_len(sealed), &opened, &err), err);
  CHECK(bytes_eq_str(opened, secret));
  trust_bytes_free(opened);
  opened = NULL;

  /* Another record's context does not open it; neither does one flipped bit. */
  CHECK_STATUS(trust_home_open(home, other, trust_bytes_data(sealed), trust_bytes_len(sealed), &opened, &err),
               TRUST_VERIFICATION_FAILED);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "CONTEXT_MISMATCH");
  err = NULL;
  CHECK(opened == NULL);
  size_t n = trust_bytes_len(sealed);
  uint8_t *copy = malloc(n);
  CHECK(copy != NULL);
  memcpy(copy, trust_bytes_data(sealed), n);
  copy[n - 1] ^= 1;
  CHECK_STATUS(trust_home_open(home, ctx, copy, n, &opened, &err), TRUST_VERIFICATION_FAILED);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "AUTHENTICATION_FAILED");
  err = NULL;
  /* Not an envelope at all. */
  CHECK_STATUS(trust_home_open(home, ctx, (const uint8_t *)"hello", 5, &opened, NULL), TRUST_VERIFICATION_FAILED);
  free(copy);

  /* Text token round trip, under the XChaCha20 keyring. */
  trust_bytes *token = NULL;
  CHECK_OK(trust_home_seal_token(home, S("tokens"), ctx, S(secret), &token, &err), err);
  CHECK(strncmp((const char *)trust_bytes_data(token), "tle1.", 5) == 0);
  CHECK(strlen((const char *)trust_bytes_data(token)) == trust_bytes_len(token));
  CHECK_OK(trust_home_open_token(home, ctx, trust_bytes_data(token), trust_bytes_len(token), &opened, &err), err);
  CHECK(bytes_eq_str(opened, secret));
  trust_bytes_free(opened);
  opened = NULL;
  CHECK_STATUS(trust_home_open_token(home, other, trust_bytes_data(token), trust_bytes_len(token), &opened, NULL),
               TRUST_VERIFICATION_FAILED);
  CHECK_STATUS(trust_home_open_token(home, ctx, S("tle1.***"), &opened, &err), TRUST_VERIFICATION_FAILED);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "MALFORMED_TOKEN");
  err = NULL;

  /* Rotation: the new version seals, the old one still opens. */
  uint32_t version = 0;
  CHECK_OK(trust_home_rotate(home, S("orders"), true, &version, &err), err);
  CHECK(version == 2);
  trust_bytes *info = NULL;
  CHECK_OK(trust_home_keyring_info(home, S("orders"), &info, &err), err);
  CHECK(strstr((const char *)trust_bytes_data(info), "\"primary\":2") != NULL);
  trust_bytes_free(info);
  CHECK_OK(trust_home_open(home, ctx, trust_bytes_data(sealed), trust_bytes_len(sealed), &opened, &err), err);
  CHECK(bytes_eq_str(opened, secret));
  trust_bytes_free(opened);
  opened = NULL;
  /* Staged rotation: version 3 exists but 2 stays Primary. */
  CHECK_OK(trust_home_rotate(home, S("orders"), false, &version, &err), err);
  CHECK(version == 3);
  CHECK_OK(trust_home_keyring_info(home, S("orders"), &info, &err), err);
  CHECK(strstr((const char *)trust_bytes_data(info), "\"primary\":2") != NULL);
  trust_bytes_free(info);

  trust_bytes *names = NULL;
  CHECK_OK(trust_home_keyrings(home, &names, &err), err);
  CHECK(bytes_eq_str(names, "[\"orders\",\"tokens\"]"));
  trust_bytes_free(names);

  /* Keyring errors. */
  CHECK_STATUS(trust_home_create_keyring(home, S("orders"), TRUST_SUITE_AES_256_GCM, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "KEYRING_EXISTS");
  err = NULL;
  CHECK_STATUS(trust_home_create_keyring(home, S("Bad Name"), TRUST_SUITE_AES_256_GCM, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "INVALID_KEYRING_NAME");
  err = NULL;
  CHECK_STATUS(trust_home_create_keyring(home, S("other"), 99, NULL), TRUST_INVALID_ARGUMENT);
  trust_bytes *none = NULL;
  CHECK_STATUS(trust_home_seal(home, S("missing"), ctx, S(secret), &none, &err), TRUST_KEY_UNAVAILABLE);
  EXPECT_ERROR(err, TRUST_KEY_UNAVAILABLE, "UNKNOWN_KEYRING");
  err = NULL;
  CHECK(none == NULL);
  CHECK_STATUS(trust_home_keyring_info(home, S("missing"), &none, NULL), TRUST_KEY_UNAVAILABLE);
  CHECK_STATUS(trust_home_rotate(home, S("missing"), true, &version, NULL), TRUST_KEY_UNAVAILABLE);
  trust_home_free(home);

  /* Reopen with the recorded key file, and with an explicit path; a wrong key is refused. */
  CHECK_OK(trust_home_open_key_file(S(home_dir), NULL, 0, &home, &err), err);
  CHECK_OK(trust_home_open(home, ctx, trust_bytes_data(sealed), trust_bytes_len(sealed), &opened, &err), err);
  CHECK(bytes_eq_str(opened, secret));
  trust_bytes_free(opened);
  trust_home_free(home);
  CHECK_OK(trust_home_open_key_file(S(home_dir), S(key_file), &home, &err), err);
  trust_home_free(home);
  home = NULL;
  char wrong_key[4096];
  snprintf(wrong_key, sizeof wrong_key, "%s", path("wrong.key"));
  FILE *f = fopen(wrong_key, "wb");
  CHECK(f != NULL);
  for (int i = 0; i < 32; i++) fputc(i, f);
  fclose(f);
  CHECK_STATUS(trust_home_open_key_file(S(home_dir), S(wrong_key), &home, &err), TRUST_KEY_UNAVAILABLE);
  EXPECT_ERROR(err, TRUST_KEY_UNAVAILABLE, "WRONG_ROOT_KEY");
  err = NULL;
  CHECK(home == NULL);
  CHECK_STATUS(trust_home_open_passphrase(S(home_dir), S("pw"), &home, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "USAGE");
  err = NULL;
  /* A home cannot be created twice; a missing home is a usage error naming it. */
  CHECK_STATUS(trust_home_init_key_file(S(home_dir), S(key_file), &home, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "HOME_EXISTS");
  err = NULL;
  CHECK_STATUS(trust_home_open_key_file(S(path("nowhere")), NULL, 0, &home, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "HOME_NOT_INITIALIZED");
  err = NULL;

  trust_bytes_free(sealed);
  trust_bytes_free(token);
  trust_context_free(ctx);
  trust_context_free(other);
}

static void test_passphrase_home(void) {
  trust_home *home = NULL;
  trust_error *err = NULL;
  char home_dir[4096];
  snprintf(home_dir, sizeof home_dir, "%s", path("pw-home"));
  /* Cheap argon2id parameters keep the test fast (and valgrind bearable). */
  CHECK_OK(trust_home_init_passphrase(S(home_dir), S("correct horse"), 256, 1, 1, &home, &err), err);
  CHECK_OK(trust_home_create_keyring(home, S("orders"), TRUST_SUITE_AES_256_GCM, &err), err);
  trust_context *ctx = context("acme", "1");
  trust_bytes *token = NULL, *opened = NULL;
  CHECK_OK(trust_home_seal_token(home, S("orders"), ctx, S("odoo-api-key"), &token, &err), err);
  trust_home_free(home);
  home = NULL;

  CHECK_STATUS(trust_home_open_passphrase(S(home_dir), S("wrong horse"), &home, &err), TRUST_KEY_UNAVAILABLE);
  EXPECT_ERROR(err, TRUST_KEY_UNAVAILABLE, "WRONG_PASSPHRASE");
  err = NULL;
  CHECK(home == NULL);
  CHECK_STATUS(trust_home_open_key_file(S(home_dir), NULL, 0, &home, NULL), TRUST_INVALID_ARGUMENT);
  CHECK_OK(trust_home_open_passphrase(S(home_dir), S("correct horse"), &home, &err), err);
  CHECK_OK(trust_home_open_token(home, ctx, trust_bytes_data(token), trust_bytes_len(token), &opened, &err), err);
  CHECK(bytes_eq_str(opened, "odoo-api-key"));
  trust_bytes_free(opened);
  trust_bytes_free(token);
  trust_home_free(home);
  trust_context_free(ctx);
}

static void test_context_and_null_arguments(void) {
  trust_context *ctx = NULL;
  trust_error *err = NULL;
  CHECK_OK(trust_context_new(&ctx, &err), err);
  /* Keys and values must be UTF-8 and follow the envelope's rules. */
  CHECK_STATUS(trust_context_add(ctx, (const uint8_t *)"\xff", 1, S("v"), &err), TRUST_INVALID_UTF8);
  EXPECT_ERROR(err, TRUST_INVALID_UTF8, "INVALID_UTF8");
  err = NULL;
  CHECK_STATUS(trust_context_add(ctx, NULL, 0, S("v"), &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "INVALID_CONTEXT");
  err = NULL;
  CHECK_STATUS(trust_context_add(NULL, S("k"), S("v"), NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_context_add(ctx, NULL, 3, S("v"), NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_context_new(NULL, NULL), TRUST_NULL_ARGUMENT);

  trust_home *home = NULL;
  trust_bytes *out = NULL;
  uint32_t version = 0;
  CHECK_STATUS(trust_home_init_key_file(NULL, 3, S("k"), &home, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_init_key_file(S("d"), S("k"), NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_init_passphrase(S("d"), S("p"), 0, 0, 0, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_open_key_file(S("d"), NULL, 0, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_open_passphrase(S("d"), NULL, 2, &home, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_create_keyring(NULL, S("x"), TRUST_SUITE_AES_256_GCM, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_rotate(NULL, S("x"), true, &version, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_keyrings(NULL, &out, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_keyring_info(NULL, S("x"), &out, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_seal(NULL, S("x"), ctx, S("p"), &out, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_open(NULL, ctx, S("p"), &out, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_seal_token(NULL, S("x"), ctx, S("p"), &out, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_open_token(NULL, ctx, S("p"), &out, NULL), TRUST_NULL_ARGUMENT);
  CHECK(home == NULL && out == NULL);

  trust_context_free(ctx);
  trust_context_free(NULL);
  trust_context_free(NULL);
  trust_home_free(NULL);
  trust_home_free(NULL);
}

int main(void) {
  test_key_file_home();
  test_passphrase_home();
  test_context_and_null_arguments();
  puts("home: ok");
  return 0;
}
