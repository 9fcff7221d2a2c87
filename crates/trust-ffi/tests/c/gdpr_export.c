/*
 * gdpr_export.c: trust_subjects_export / trust_gdpr_verify_export (signed subject bundles:
 * written atomically, verified, altered and foreign ones refused) and the request register
 * (trust_gdpr_request_add, _update, trust_gdpr_requests_list: deadlines, extensions,
 * transitions, audit events), with every refusal.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <unistd.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define NONE NULL, 0
#define B(b) trust_bytes_data(b), trust_bytes_len(b)

static void expect(trust_status got, trust_error *err, trust_status status, const char *code, int line) {
  if (got != status) {
    fprintf(stderr, "gdpr_export.c:%d: got %s, expected %s (%s: %s)\n", line, trust_status_str(got),
            trust_status_str(status), err ? trust_error_code(err) : "", err ? trust_error_message(err) : "");
    exit(1);
  }
  expect_error(err, status, code, __FILE__, line);
}
#define EXPECT(call, status, code)          \
  do {                                      \
    trust_error *e_ = NULL;                 \
    trust_status s_ = (call);               \
    expect(s_, e_, status, code, __LINE__); \
  } while (0)

#define HAS(b, s) CHECK(contains(trust_bytes_data(b), trust_bytes_len(b), (s)))

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  char dir[4096], key[4096], signing[4096], bundle[4096], bundle2[4096], logdir[4096];
  snprintf(dir, sizeof dir, "%s/home", base);
  snprintf(key, sizeof key, "%s/root.key", base);
  snprintf(signing, sizeof signing, "%s/signing.p8", base);
  snprintf(bundle, sizeof bundle, "%s/jane.export.jsonl", base);
  snprintf(bundle2, sizeof bundle2, "%s/never.jsonl", base);
  snprintf(logdir, sizeof logdir, "%s/audit", base);
  trust_error *err = NULL;
  trust_home *home = NULL;
  CHECK_OK(trust_home_init_key_file(S(dir), S(key), &home, &err), err);
  CHECK_OK(trust_home_create_keyring(home, S("customers"), TRUST_SUITE_AES_256_GCM, &err), err);
  trust_subjects *subjects = NULL;
  CHECK_OK(trust_subjects_in_home(home, S(signing), &subjects, &err), err);
  uint8_t pk[TRUST_ED25519_PUBLIC_KEY_BYTES];
  CHECK_OK(trust_subjects_signer_public_key(subjects, pk, sizeof pk, &err), err);

  /* --- export ------------------------------------------------------------------------------- */
  const uint8_t *cats[3] = {(const uint8_t *)"orders", (const uint8_t *)"orders", (const uint8_t *)"profile"};
  size_t cat_lens[3] = {6, 6, 7};
  const char *recs_text[3] = {"{\"id\":1042,\"total\":\"19.90\"}", "{\"id\":1043}", "{\"email\":\"jane@example.com\"}"};
  const uint8_t *recs[3];
  size_t rec_lens[3];
  for (int i = 0; i < 3; i++) {
    recs[i] = (const uint8_t *)recs_text[i];
    rec_lens[i] = strlen(recs_text[i]);
  }
  trust_bytes *manifest = NULL;
  CHECK_OK(trust_subjects_export(subjects, S("customers"), S("191167"), S("T-1"), cats, cat_lens, recs, rec_lens, 3,
                                 S(bundle), &manifest, &err),
           err);
  HAS(manifest, "\"format\":\"trust-export/v1\"");
  HAS(manifest, "\"request\":\"T-1\"");
  HAS(manifest, "\"category\":\"orders\",\"records\":2");
  CHECK(!contains(trust_bytes_data(manifest), trust_bytes_len(manifest), "191167"));
  trust_bytes_free(manifest);
  manifest = NULL;
  CHECK_OK(trust_gdpr_verify_export(S(bundle), pk, sizeof pk, &manifest, &err), err);
  HAS(manifest, "\"category\":\"profile\",\"records\":1");
  trust_bytes_free(manifest);
  manifest = NULL;
  CHECK_OK(trust_gdpr_verify_export(S(bundle), pk, sizeof pk, NULL, &err), err);
  /* Another signer's key; the wrong key size; no file; an empty path. */
  uint8_t other[TRUST_ED25519_PUBLIC_KEY_BYTES];
  memcpy(other, pk, sizeof other);
  other[0] ^= 1;
  EXPECT(trust_gdpr_verify_export(S(bundle), other, sizeof other, &manifest, &e_), TRUST_VERIFICATION_FAILED,
         "BAD_SIGNATURE");
  EXPECT(trust_gdpr_verify_export(S(bundle), pk, 31, &manifest, &e_), TRUST_INVALID_ARGUMENT, "INVALID_ARGUMENT");
  EXPECT(trust_gdpr_verify_export(S(bundle2), pk, sizeof pk, &manifest, &e_), TRUST_INPUT_UNREADABLE,
         "INPUT_UNREADABLE");
  EXPECT(trust_gdpr_verify_export(NONE, pk, sizeof pk, &manifest, &e_), TRUST_INVALID_ARGUMENT, "EMPTY_PATH");
  CHECK(manifest == NULL);
  /* Alter one record: the checksums no longer match. */
  FILE *f = fopen(bundle, "r+b");
  CHECK(f != NULL);
  CHECK(fseek(f, 30, SEEK_SET) == 0);
  int c = fgetc(f);
  CHECK(c != EOF);
  CHECK(fseek(f, 30, SEEK_SET) == 0);
  fputc(c == '1' ? '2' : '1', f);
  fclose(f);
  CHECK_STATUS(trust_gdpr_verify_export(S(bundle), pk, sizeof pk, &manifest, &err), TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  CHECK(manifest == NULL);
  /* Refused exports leave no file behind. */
  const uint8_t *bad_recs[1] = {(const uint8_t *)"{not json"};
  size_t bad_lens[1] = {9};
  EXPECT(trust_subjects_export(subjects, S("customers"), S("191167"), NONE, cats, cat_lens, bad_recs, bad_lens, 1,
                               S(bundle2), &manifest, &e_),
         TRUST_INVALID_ARGUMENT, "INVALID_ARGUMENT");
  const uint8_t *bad_cats[1] = {(const uint8_t *)"Bad Category!"};
  size_t bad_cat_lens[1] = {13};
  EXPECT(trust_subjects_export(subjects, S("customers"), S("191167"), NONE, bad_cats, bad_cat_lens, recs, rec_lens, 1,
                               S(bundle2), &manifest, &e_),
         TRUST_INVALID_ARGUMENT, "BAD_NAME");
  EXPECT(trust_subjects_export(subjects, S("customers"), S("191167"), S("bad request id"), cats, cat_lens, recs,
                               rec_lens, 1, S(bundle2), &manifest, &e_),
         TRUST_INVALID_ARGUMENT, "BAD_NAME");
  EXPECT(trust_subjects_export(subjects, S("customers"), S("191167"), NONE, cats, cat_lens, recs, rec_lens, 1, NONE,
                               &manifest, &e_),
         TRUST_INVALID_ARGUMENT, "EMPTY_PATH");
  CHECK(access(bundle2, F_OK) != 0);
  CHECK(manifest == NULL);
  CHECK_STATUS(trust_subjects_export(NULL, S("customers"), S("1"), NONE, NULL, NULL, NULL, NULL, 0, S(bundle2), &manifest,
                                     NULL),
               TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_subjects_export(subjects, S("customers"), S("1"), NONE, cats, NULL, recs, rec_lens, 1, S(bundle2),
                                     &manifest, NULL),
               TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_subjects_export(subjects, S("customers"), S("1"), NONE, NULL, NULL, NULL, NULL, 0, S(bundle2), NULL,
                                     NULL),
               TRUST_NULL_ARGUMENT);
  /* No records at all is a valid (empty) export. */
  CHECK_OK(trust_subjects_export(subjects, S("customers"), S("nobody"), NONE, NULL, NULL, NULL, NULL, 0, S(bundle2),
                                 &manifest, &err),
           err);
  HAS(manifest, "\"parts\":[]");
  trust_bytes_free(manifest);
  CHECK_OK(trust_gdpr_verify_export(S(bundle2), pk, sizeof pk, NULL, &err), err);

  /* --- the request register ---------------------------------------------------------------- */
  trust_bytes *audit_vkey = NULL, *json = NULL;
  CHECK_OK(trust_audit_log_init(S(logdir), S("example.com/gdpr"), &audit_vkey, &err), err);
  trust_bytes_free(audit_vkey);
  trust_audit_log *log = NULL;
  CHECK_OK(trust_audit_log_open(S(logdir), &log, &err), err);
  CHECK_OK(trust_gdpr_requests_list(home, 0, false, &json, &err), err);
  CHECK(bytes_eq_str(json, "[]"));
  trust_bytes_free(json);
  /* Received 2026-01-01: due a calendar month later. */
  const int64_t jan1 = 1767225600, jan10 = 1768003200, mar1 = 1772323200;
  CHECK_OK(trust_gdpr_request_add(home, subjects, S("T-1"), S("erasure"), S("customers"), S("191167"), jan1, NONE, false,
                                  log, &json, &err),
           err);
  HAS(json, "\"id\":\"T-1\"");
  HAS(json, "\"due\":\"2026-02-01\"");
  CHECK(!contains(trust_bytes_data(json), trust_bytes_len(json), "191167"));
  trust_bytes_free(json);
  EXPECT(trust_gdpr_request_add(home, subjects, S("T-1"), S("erasure"), S("customers"), S("191167"), jan1, NONE, false,
                                NULL, &json, &e_),
         TRUST_INVALID_ARGUMENT, "DUPLICATE_REQUEST");
  CHECK_OK(trust_gdpr_request_add(home, subjects, S("T-2"), S("export"), S("customers"), S("7"), 0, S("uk-gdpr"), true,
                                  NULL, &json, &err),
           err);
  HAS(json, "\"uk-gdpr\"");
  trust_bytes_free(json);
  CHECK_OK(trust_gdpr_requests_list(home, mar1, true, &json, &err), err);
  HAS(json, "\"id\":\"T-1\"");
  HAS(json, "\"overdue\":true");
  CHECK(!contains(trust_bytes_data(json), trust_bytes_len(json), "\"id\":\"T-2\""));
  trust_bytes_free(json);
  /* Extended by two months within the first: due 2026-04-01. Then worked on and completed. */
  CHECK_OK(trust_gdpr_request_update(home, S("T-1"), S("extend"), 2, S("records in three systems"), jan10, log, &json,
                                     &err),
           err);
  HAS(json, "\"due\":\"2026-04-01\"");
  trust_bytes_free(json);
  EXPECT(trust_gdpr_request_update(home, S("T-1"), S("extend"), 1, S("again"), jan10, NULL, &json, &e_),
         TRUST_INVALID_ARGUMENT, "BAD_EXTENSION");
  CHECK_OK(trust_gdpr_request_update(home, S("T-1"), S("start"), 0, NONE, jan10, log, &json, &err), err);
  trust_bytes_free(json);
  CHECK_OK(trust_gdpr_request_update(home, S("T-1"), S("complete"), 0, NONE, jan10, log, &json, &err), err);
  HAS(json, "\"overdue\":false");
  trust_bytes_free(json);
  EXPECT(trust_gdpr_request_update(home, S("T-1"), S("start"), 0, NONE, 0, NULL, &json, &e_), TRUST_INVALID_ARGUMENT,
         "INVALID_TRANSITION");
  CHECK_OK(trust_gdpr_request_update(home, S("T-2"), S("reject"), 0, S("identity not established"), 0, NULL, &json,
                                     &err),
           err);
  trust_bytes_free(json);
  json = NULL;
  EXPECT(trust_gdpr_request_update(home, S("T-9"), S("start"), 0, NONE, 0, NULL, &json, &e_), TRUST_INVALID_ARGUMENT,
         "UNKNOWN_REQUEST");
  EXPECT(trust_gdpr_request_update(home, S("T-2"), S("reopen"), 0, NONE, 0, NULL, &json, &e_), TRUST_INVALID_ARGUMENT,
         "INVALID_ARGUMENT");
  EXPECT(trust_gdpr_request_add(home, subjects, S("T-3"), S("deletion"), S("customers"), S("7"), 0, NONE, false, NULL,
                                &json, &e_),
         TRUST_INVALID_ARGUMENT, "BAD_NAME");
  EXPECT(trust_gdpr_request_add(home, subjects, S("T-3"), S("erasure"), S("customers"), S("7"), 0, S("us-ccpa"), false,
                                NULL, &json, &e_),
         TRUST_INVALID_ARGUMENT, "INVALID_ARGUMENT");
  EXPECT(trust_gdpr_request_add(home, subjects, S("bad id"), S("erasure"), S("customers"), S("7"), 0, NONE, false, NULL,
                                &json, &e_),
         TRUST_INVALID_ARGUMENT, "BAD_NAME");
  CHECK(json == NULL);
  CHECK_STATUS(trust_gdpr_requests_list(NULL, 0, false, &json, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_gdpr_requests_list(home, 0, false, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_gdpr_request_add(home, NULL, S("T-4"), S("erasure"), S("customers"), S("7"), 0, NONE, false, NULL,
                                      &json, NULL),
               TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_gdpr_request_update(NULL, S("T-1"), S("start"), 0, NONE, 0, NULL, &json, NULL),
               TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_gdpr_request_update(home, S("T-1"), S("start"), 0, NONE, 0, NULL, NULL, NULL),
               TRUST_NULL_ARGUMENT);
  /* Stored: a new handle on the home lists both; the audit log recorded the request's events. */
  trust_home *again = NULL;
  CHECK_OK(trust_home_open_key_file(S(dir), NONE, &again, &err), err);
  CHECK_OK(trust_gdpr_requests_list(again, 0, false, &json, &err), err);
  HAS(json, "\"status\":\"completed\"");
  HAS(json, "\"status\":\"rejected\"");
  trust_bytes_free(json);
  uint64_t size = 0;
  CHECK_OK(trust_audit_log_size(log, &size, &err), err);
  CHECK(size >= 4);

  /* --- retention: what is due for deletion at a time -------------------------------------- */
  const char *policy = "{\"rules\":[{\"category\":\"configuration\",\"after\":\"account-closed\",\"days\":30,"
                       "\"action\":\"delete\"}]}";
  const char *items = "[{\"id\":\"shop-1\",\"category\":\"configuration\",\"event\":\"account-closed\","
                      "\"at\":\"2026-01-01T00:00:00Z\"},{\"id\":\"shop-2\",\"category\":\"configuration\","
                      "\"event\":\"account-closed\",\"at\":\"2026-02-15T00:00:00Z\"},{\"id\":\"shop-3\","
                      "\"category\":\"orders\",\"event\":\"account-closed\",\"at\":\"2020-01-01T00:00:00Z\"}]";
  CHECK_OK(trust_gdpr_retention_due(S(policy), S(items), mar1, &json, &err), err);
  HAS(json, "\"id\":\"shop-1\"");
  CHECK(!contains(trust_bytes_data(json), trust_bytes_len(json), "shop-2"));
  CHECK(!contains(trust_bytes_data(json), trust_bytes_len(json), "shop-3")); /* no rule covers it */
  trust_bytes_free(json);
  CHECK_OK(trust_gdpr_retention_due(S(policy), S("[]"), 0, &json, &err), err);
  CHECK(bytes_eq_str(json, "[]"));
  trust_bytes_free(json);
  json = NULL;
  EXPECT(trust_gdpr_retention_due(S("{not json"), S("[]"), 0, &json, &e_), TRUST_INVALID_ARGUMENT, "MALFORMED");
  EXPECT(trust_gdpr_retention_due(S(policy), S("{\"id\":1}"), 0, &json, &e_), TRUST_INVALID_ARGUMENT, "MALFORMED");
  EXPECT(trust_gdpr_retention_due(S("{\"rules\":[{\"category\":\"Bad Cat\",\"after\":\"closed\",\"days\":1,"
                                    "\"action\":\"delete\"}]}"),
                                  S("[]"), 0, &json, &e_),
         TRUST_INVALID_ARGUMENT, "BAD_NAME");
  CHECK(json == NULL);
  CHECK_STATUS(trust_gdpr_retention_due(S(policy), S("[]"), 0, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_gdpr_retention_due(NULL, 3, S("[]"), 0, &json, NULL), TRUST_NULL_ARGUMENT);

  trust_home_free(again);
  trust_audit_log_free(log);
  trust_subjects_free(subjects);
  trust_home_free(home);
  puts("gdpr_export: ok");
  return 0;
}
