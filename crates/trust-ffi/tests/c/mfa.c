/*
 * mfa.c: trust_mfa_*: enrollment (the otpauth:// URI), RFC 6238 appendix B vectors (SHA-1 with
 * the 20-byte seed, SHA-256 with the 32-byte one, 8 digits), replay refusal, the attempt limit,
 * single-use recovery codes, removal, and the errors.
 */
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define NONE NULL, 0

static trust_mfa *mfa;

static void verify_ok(const char *user, const char *code, int64_t now, uint64_t step) {
  trust_error *err = NULL;
  uint64_t got = 0;
  CHECK_OK(trust_mfa_verify(mfa, S(user), NONE, S(code), now, &got, &err), err);
  CHECK(got == step);
}

static void verify_rejected(const char *user, const char *code, int64_t now, trust_status status,
                            const char *error_code) {
  trust_error *err = NULL;
  uint64_t got = 12345;
  CHECK_STATUS(trust_mfa_verify(mfa, S(user), NONE, S(code), now, &got, &err), status);
  CHECK(got == 12345);
  EXPECT_ERROR(err, status, error_code);
}

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  char dir[4096], key[4096];
  snprintf(dir, sizeof dir, "%s/home", base);
  snprintf(key, sizeof key, "%s/root.key", base);
  trust_error *err = NULL;
  trust_home *home = NULL;
  CHECK_OK(trust_home_init_key_file(S(dir), S(key), &home, &err), err);
  CHECK_OK(trust_mfa_new(home, S("Acme Sync"), NULL, &mfa, &err), err);
  trust_home_free(home); /* the handle keeps its own reference */

  /* RFC 6238 appendix B, SHA-1, seed "12345678901234567890", 8 digits. */
  trust_bytes *uri = NULL;
  CHECK_OK(trust_mfa_enroll(mfa, S("alice@example.com"), NONE, S("12345678901234567890"), TRUST_MFA_SHA1, 8, &uri,
                            &err),
           err);
  CHECK(strncmp((const char *)trust_bytes_data(uri), "otpauth://totp/", 15) == 0);
  CHECK(contains(trust_bytes_data(uri), trust_bytes_len(uri), "digits=8"));
  CHECK(contains(trust_bytes_data(uri), trust_bytes_len(uri), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")); /* base32 seed */
  trust_bytes_free(uri);
  verify_ok("alice@example.com", "94287082", 59, 1);
  /* The same code again (another worker racing it): refused. */
  verify_rejected("alice@example.com", "94287082", 59, TRUST_VERIFICATION_FAILED, "MFA_REJECTED");
  verify_ok("alice@example.com", "07081804", 1111111109, 37037036);
  verify_ok("alice@example.com", "14050471", 1111111111, 37037037);
  /* A valid but older code after a newer one. */
  verify_rejected("alice@example.com", "07081804", 1111111109, TRUST_VERIFICATION_FAILED, "MFA_REJECTED");
  /* The sixth attempt in 30 seconds is refused before the code is looked at. */
  verify_rejected("alice@example.com", "89005924", 1234567890, TRUST_REFUSED, "MFA_RATE_LIMITED");

  /* SHA-256 with the 32-byte seed, on a second device. */
  CHECK_OK(trust_mfa_enroll(mfa, S("bob"), S("phone"), S("12345678901234567890123456789012"), TRUST_MFA_SHA256, 8,
                            &uri, &err),
           err);
  CHECK(contains(trust_bytes_data(uri), trust_bytes_len(uri), "algorithm=SHA256"));
  trust_bytes_free(uri);
  uint64_t step = 0;
  CHECK_OK(trust_mfa_verify(mfa, S("bob"), S("phone"), S("46119246"), 59, &step, &err), err);
  CHECK(step == 1);
  CHECK_STATUS(trust_mfa_verify(mfa, S("bob"), S("laptop"), S("46119246"), 59, NULL, &err), TRUST_KEY_UNAVAILABLE);
  EXPECT_ERROR(err, TRUST_KEY_UNAVAILABLE, "MFA_NOT_ENROLLED");
  err = NULL;
  /* Enrolling the same device twice. */
  CHECK_STATUS(trust_mfa_enroll(mfa, S("bob"), S("phone"), NONE, TRUST_MFA_DEFAULT, 0, &uri, &err),
               TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "MFA_ALREADY_ENROLLED");
  err = NULL;

  /* Recovery codes: each works once. */
  trust_bytes *codes = NULL;
  CHECK_OK(trust_mfa_recovery_codes(mfa, S("bob"), &codes, &err), err);
  const char *json = (const char *)trust_bytes_data(codes);
  CHECK(json[0] == '[' && json[1] == '"');
  const char *end = strchr(json + 2, '"');
  CHECK(end != NULL);
  char code[64];
  size_t n = (size_t)(end - (json + 2));
  CHECK(n > 0 && n < sizeof code);
  memcpy(code, json + 2, n);
  code[n] = '\0';
  trust_bytes_free(codes);
  CHECK_OK(trust_mfa_redeem_recovery_code(mfa, S("bob"), S(code), &err), err);
  CHECK_STATUS(trust_mfa_redeem_recovery_code(mfa, S("bob"), S(code), &err), TRUST_VERIFICATION_FAILED);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "MFA_REJECTED");
  err = NULL;

  /* Removal: gone, and verifying is then NOT_ENROLLED. */
  bool removed = false;
  CHECK_OK(trust_mfa_remove(mfa, S("bob"), &removed, &err), err);
  CHECK(removed);
  CHECK_OK(trust_mfa_remove(mfa, S("bob"), &removed, &err), err);
  CHECK(!removed);
  CHECK_OK(trust_mfa_remove(mfa, S("nobody"), NULL, &err), err);
  verify_rejected("bob", "46119246", 89, TRUST_KEY_UNAVAILABLE, "MFA_NOT_ENROLLED");

  /* A generated secret (the default: SHA-1, 6 digits). */
  CHECK_OK(trust_mfa_enroll(mfa, S("carol"), NONE, NONE, TRUST_MFA_DEFAULT, 0, &uri, &err), err);
  CHECK(contains(trust_bytes_data(uri), trust_bytes_len(uri), "issuer=Acme"));
  trust_bytes_free(uri);

  /* Argument errors. */
  CHECK_STATUS(trust_mfa_enroll(mfa, S("dave"), NONE, NONE, 9, 0, &uri, NULL), TRUST_INVALID_ARGUMENT);
  CHECK_STATUS(trust_mfa_enroll(mfa, S("dave"), NONE, NONE, TRUST_MFA_SHA1, 7, &uri, NULL), TRUST_INVALID_ARGUMENT);
  CHECK_STATUS(trust_mfa_enroll(mfa, S("dave"), NONE, NONE, TRUST_MFA_SHA1, 300, &uri, NULL), TRUST_INVALID_ARGUMENT);
  CHECK_STATUS(trust_mfa_enroll(mfa, S("dave"), NONE, S("short"), TRUST_MFA_SHA1, 6, &uri, NULL),
               TRUST_INVALID_ARGUMENT);
  CHECK_STATUS(trust_mfa_enroll(mfa, S("has space"), NONE, NONE, TRUST_MFA_SHA1, 6, &uri, &err),
               TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "MFA_INVALID_ID");
  err = NULL;
  CHECK_STATUS(trust_mfa_enroll(mfa, S("dave"), NONE, NONE, TRUST_MFA_SHA1, 6, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_mfa_verify(mfa, S("carol"), NONE, S("123456"), -1, NULL, NULL), TRUST_INVALID_ARGUMENT);
  CHECK_STATUS(trust_mfa_verify(NULL, S("carol"), NONE, S("123456"), 0, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_mfa_recovery_codes(mfa, S("nobody"), &codes, NULL), TRUST_KEY_UNAVAILABLE);
  CHECK_STATUS(trust_mfa_new(NULL, NONE, NULL, &mfa, NULL), TRUST_NULL_ARGUMENT);
  trust_mfa_free(mfa);
  trust_mfa_free(NULL);
  puts("mfa: ok");
  return 0;
}
