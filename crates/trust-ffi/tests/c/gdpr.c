/*
 * gdpr.c: trust_subjects_* and trust_gdpr_verify_receipt: seal for a subject, erase with a
 * signed receipt (recorded in an audit log), reads fail with SUBJECT_ERASED afterwards, other
 * subjects unaffected, receipts verify and tampered ones do not.
 */
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  char home_dir[4096], key_file[4096], store_dir[4096], signing[4096], log_dir[4096];
  snprintf(home_dir, sizeof home_dir, "%s/home", base);
  snprintf(key_file, sizeof key_file, "%s/root.key", base);
  snprintf(store_dir, sizeof store_dir, "%s/home/subjects", base);
  snprintf(signing, sizeof signing, "%s/signing.p8", base);
  snprintf(log_dir, sizeof log_dir, "%s/audit", base);
  trust_error *err = NULL;

  trust_home *home = NULL;
  CHECK_OK(trust_home_init_key_file(S(home_dir), S(key_file), &home, &err), err);
  CHECK_OK(trust_home_create_keyring(home, S("customers"), TRUST_SUITE_AES_256_GCM, &err), err);
  trust_subjects *subjects = NULL;
  CHECK_OK(trust_subjects_new(home, S(store_dir), S(signing), &subjects, &err), err);
  /* The subjects handle keeps the home alive on its own. */
  trust_home_free(home);

  trust_context *ctx = NULL;
  CHECK_OK(trust_context_new(&ctx, &err), err);
  CHECK_OK(trust_context_add(ctx, S("tenant"), S("acme"), &err), err);

  trust_bytes *alice = NULL, *bob = NULL, *opened = NULL;
  CHECK_OK(trust_subjects_seal(subjects, S("customers"), S("alice@example.com"), ctx, S("alice's address"), &alice, &err), err);
  CHECK_OK(trust_subjects_seal(subjects, S("customers"), S("bob@example.com"), ctx, S("bob's address"), &bob, &err), err);
  /* The envelope names the subject only by pseudonym. */
  CHECK(!contains(trust_bytes_data(alice), trust_bytes_len(alice), "alice"));
  CHECK_OK(trust_subjects_open(subjects, ctx, trust_bytes_data(alice), trust_bytes_len(alice), &opened, &err), err);
  CHECK(bytes_eq_str(opened, "alice's address"));
  trust_bytes_free(opened);
  opened = NULL;

  /* Erase alice, recording the erasure in an audit log. */
  trust_bytes *vkey = NULL;
  trust_audit_log *log = NULL;
  CHECK_OK(trust_audit_log_init(S(log_dir), S("example.com/audit/gdpr"), &vkey, &err), err);
  CHECK_OK(trust_audit_log_open(S(log_dir), &log, &err), err);
  trust_bytes *receipt = NULL;
  CHECK_OK(trust_subjects_erase(subjects, S("customers"), S("alice@example.com"), S("req-7"), 35, log, &receipt, &err), err);
  const char *json = (const char *)trust_bytes_data(receipt);
  CHECK(strstr(json, "\"format\":\"trust-erasure-receipt/v1\"") != NULL);
  CHECK(strstr(json, "\"request\":\"req-7\"") != NULL);
  CHECK(strstr(json, "alice") == NULL);
  uint64_t size = 0;
  CHECK_OK(trust_audit_log_size(log, &size, &err), err);
  CHECK(size == 1);

  /* Alice's data is gone; bob's is not; a second erasure is refused. */
  CHECK_STATUS(trust_subjects_open(subjects, ctx, trust_bytes_data(alice), trust_bytes_len(alice), &opened, &err),
               TRUST_KEY_UNAVAILABLE);
  EXPECT_ERROR(err, TRUST_KEY_UNAVAILABLE, "SUBJECT_ERASED");
  err = NULL;
  CHECK(opened == NULL);
  CHECK_STATUS(trust_subjects_seal(subjects, S("customers"), S("alice@example.com"), ctx, S("x"), &opened, NULL),
               TRUST_KEY_UNAVAILABLE);
  CHECK_OK(trust_subjects_open(subjects, ctx, trust_bytes_data(bob), trust_bytes_len(bob), &opened, &err), err);
  CHECK(bytes_eq_str(opened, "bob's address"));
  trust_bytes_free(opened);
  trust_bytes *again = NULL;
  CHECK_STATUS(trust_subjects_erase(subjects, S("customers"), S("alice@example.com"), NULL, 0, 35, NULL, &again, &err),
               TRUST_KEY_UNAVAILABLE);
  EXPECT_ERROR(err, TRUST_KEY_UNAVAILABLE, "SUBJECT_ERASED");
  err = NULL;
  CHECK(again == NULL);

  /* The receipt verifies under the signer's key, and not when altered or under another key. */
  uint8_t pk[TRUST_ED25519_PUBLIC_KEY_BYTES], small[TRUST_ED25519_PUBLIC_KEY_BYTES - 1];
  CHECK(trust_ed25519_public_key_bytes() == TRUST_ED25519_PUBLIC_KEY_BYTES);
  CHECK_OK(trust_subjects_signer_public_key(subjects, pk, sizeof pk, &err), err);
  CHECK_STATUS(trust_subjects_signer_public_key(subjects, small, sizeof small, NULL), TRUST_BUFFER_TOO_SMALL);
  CHECK_OK(trust_gdpr_verify_receipt(trust_bytes_data(receipt), trust_bytes_len(receipt), pk, sizeof pk, &err), err);
  size_t n = trust_bytes_len(receipt);
  char *altered = malloc(n + 1);
  CHECK(altered != NULL);
  memcpy(altered, json, n + 1);
  char *req = strstr(altered, "req-7");
  CHECK(req != NULL);
  req[4] = '8';
  CHECK_STATUS(trust_gdpr_verify_receipt((const uint8_t *)altered, n, pk, sizeof pk, &err), TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  free(altered);
  pk[0] ^= 1;
  CHECK_STATUS(trust_gdpr_verify_receipt(trust_bytes_data(receipt), n, pk, sizeof pk, NULL), TRUST_VERIFICATION_FAILED);
  CHECK_STATUS(trust_gdpr_verify_receipt(trust_bytes_data(receipt), n, pk, 31, NULL), TRUST_INVALID_ARGUMENT);
  CHECK_STATUS(trust_gdpr_verify_receipt(S("{}"), pk, sizeof pk, NULL), TRUST_VERIFICATION_FAILED);

  /* NULL arguments. */
  trust_subjects *none = NULL;
  CHECK_STATUS(trust_subjects_new(NULL, S(store_dir), S(signing), &none, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_subjects_seal(NULL, S("customers"), S("x"), ctx, S("p"), &opened, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_subjects_seal(subjects, S("customers"), S("x"), NULL, S("p"), &opened, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_subjects_open(NULL, ctx, S("p"), &opened, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_subjects_erase(NULL, S("customers"), S("x"), NULL, 0, 0, NULL, &again, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_subjects_erase(subjects, S("customers"), S("x"), NULL, 0, 0, NULL, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_subjects_signer_public_key(NULL, pk, sizeof pk, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_gdpr_verify_receipt(NULL, 3, pk, sizeof pk, NULL), TRUST_NULL_ARGUMENT);
  CHECK(none == NULL);

  trust_bytes_free(receipt);
  trust_bytes_free(alice);
  trust_bytes_free(bob);
  trust_bytes_free(vkey);
  trust_context_free(ctx);
  trust_audit_log_free(log);
  trust_subjects_free(subjects);
  trust_subjects_free(NULL);
  trust_subjects_free(NULL);
  puts("gdpr: ok");
  return 0;
}
