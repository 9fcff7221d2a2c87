/*
 * audit_store.c: audit logs by location. trust_audit_log_init/_open/_verify take a directory or
 * a postgres:// URL (`?log=NAME`), told apart by the same dispatcher the CLI uses: other
 * schemes, Redis and an unreachable server are refused with their codes and never leak the
 * URL's password; with TRUST_TEST_STORE_URL (a fresh schema on the test server), a log in
 * PostgreSQL written by two handles (two workers) at once, checkpointed, proved and verified
 * through its URL exactly as a directory log is.
 */
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define NONE NULL, 0
#define B(b) trust_bytes_data(b), trust_bytes_len(b)

static void expect_refused(trust_status got, trust_error *err, trust_status status, const char *code,
                           const char *secret, int line) {
  if (got != status) {
    fprintf(stderr, "audit_store.c:%d: got %s, expected %s (%s)\n", line, trust_status_str(got),
            trust_status_str(status), err ? trust_error_message(err) : "");
    exit(1);
  }
  if (secret != NULL && strstr(trust_error_message(err), secret) != NULL) {
    fprintf(stderr, "audit_store.c:%d: the error shows the password: %s\n", line, trust_error_message(err));
    exit(1);
  }
  expect_error(err, status, code, __FILE__, line);
}
#define REFUSED(call, status, code, secret)                 \
  do {                                                      \
    trust_error *e_ = NULL;                                 \
    trust_status s_ = (call);                               \
    expect_refused(s_, e_, status, code, secret, __LINE__); \
  } while (0)

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  trust_error *err = NULL;
  trust_bytes *vkey = NULL, *report = NULL;
  trust_audit_log *log = NULL;

  /* Refusals: nothing is created, no output is written. */
  REFUSED(trust_audit_log_init(NONE, S("example.com/audit"), &vkey, &e_), TRUST_INVALID_ARGUMENT, "EMPTY_PATH",
          NULL);
  REFUSED(trust_audit_log_open(NONE, &log, &e_), TRUST_INVALID_ARGUMENT, "EMPTY_PATH", NULL);
  REFUSED(trust_audit_log_verify(NONE, S("k"), &report, &e_), TRUST_INVALID_ARGUMENT, "EMPTY_PATH", NULL);
  REFUSED(trust_audit_log_init(S("mysql://app:Hidden-Pw-1@db/x"), S("example.com/audit"), &vkey, &e_),
          TRUST_INVALID_ARGUMENT, "STORE_URL_UNSUPPORTED", "Hidden-Pw-1");
  REFUSED(trust_audit_log_open(S("redis://:Hidden-Pw-2@127.0.0.1:6379/"), &log, &e_), TRUST_INVALID_ARGUMENT,
          "STORE_URL_UNSUPPORTED", "Hidden-Pw-2");
  REFUSED(trust_audit_log_open(S("postgres://trust:Hidden-Pw-3@127.0.0.1:1/x?connect_timeout=2"), &log, &e_),
          TRUST_INPUT_UNREADABLE, "STORE_UNREACHABLE", "Hidden-Pw-3");
  REFUSED(trust_audit_log_init(S("postgres://trust:Hidden-Pw-4@127.0.0.1:1/x?log=Bad%20Name"), S("example.com/audit"),
                               &vkey, &e_),
          TRUST_INVALID_ARGUMENT, "STORE_CONFIG", "Hidden-Pw-4");
  CHECK(vkey == NULL && log == NULL && report == NULL);

  /* A directory log exports to a key-free copy that verifies; the target must be empty. */
  char dir_log[4096], copy[4096], copy2[4096];
  snprintf(dir_log, sizeof dir_log, "%s/dirlog", base);
  snprintf(copy, sizeof copy, "%s/dirlog-copy", base);
  snprintf(copy2, sizeof copy2, "%s/pglog-copy", base);
  trust_bytes *dir_vkey = NULL, *summary = NULL;
  CHECK_OK(trust_audit_log_init(S(dir_log), S("example.com/audit/dir"), &dir_vkey, &err), err);
  CHECK_OK(trust_audit_log_open(S(dir_log), &log, &err), err);
  uint64_t at = 0;
  CHECK_OK(trust_audit_log_append(log, S("key.rotate"), NONE, NONE, NONE, &at, &err), err);
  trust_bytes *cp = NULL, *cp2 = NULL, *proof = NULL, *result = NULL;
  CHECK_OK(trust_audit_log_checkpoint(log, &cp, &err), err);
  /* Consistency: two more entries, a second checkpoint, a proof that it extends the first. */
  CHECK_OK(trust_audit_log_append(log, S("key.promote"), NONE, NONE, NONE, &at, &err), err);
  CHECK_OK(trust_audit_log_append(log, S("key.retire"), NONE, NONE, NONE, &at, &err), err);
  CHECK_OK(trust_audit_log_checkpoint(log, &cp2, &err), err);
  CHECK_OK(trust_audit_log_consistency_proof(log, B(cp), B(cp2), &proof, &err), err);
  CHECK(trust_bytes_len(proof) > 0);
  CHECK_OK(trust_audit_verify_consistency(B(cp), B(cp2), B(dir_vkey), B(proof), &result, &err), err);
  CHECK(bytes_eq_str(result, "{\"new_size\":3,\"old_size\":1}") ||
        bytes_eq_str(result, "{\"old_size\":1,\"new_size\":3}"));
  trust_bytes_free(result);
  result = NULL;
  CHECK_OK(trust_audit_verify_consistency(B(cp), B(cp2), B(dir_vkey), B(proof), NULL, &err), err);
  /* A proof for other sizes, an altered proof, the checkpoints swapped, another log's key. */
  uint8_t bad_proof[4096];
  size_t plen = trust_bytes_len(proof);
  CHECK(plen < sizeof bad_proof);
  memcpy(bad_proof, trust_bytes_data(proof), plen);
  bad_proof[0] = bad_proof[0] == 'A' ? 'B' : 'A';
  CHECK_STATUS(trust_audit_verify_consistency(B(cp), B(cp2), B(dir_vkey), bad_proof, plen, &result, &err),
               TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  CHECK_STATUS(trust_audit_verify_consistency(B(cp), B(cp2), B(dir_vkey), NONE, &result, &err),
               TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  CHECK_STATUS(trust_audit_verify_consistency(B(cp2), B(cp), B(dir_vkey), B(proof), &result, &err),
               TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  CHECK(result == NULL);
  CHECK_STATUS(trust_audit_verify_consistency(B(cp), B(cp2), S("not a vkey"), B(proof), &result, &err),
               TRUST_INVALID_ARGUMENT);
  trust_error_free(err);
  err = NULL;
  CHECK_STATUS(trust_audit_log_consistency_proof(log, S("not a checkpoint"), B(cp2), &result, &err),
               TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  CHECK_STATUS(trust_audit_log_consistency_proof(NULL, B(cp), B(cp2), &result, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_audit_log_consistency_proof(log, B(cp), B(cp2), NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_audit_verify_consistency(NULL, 5, B(cp2), B(dir_vkey), NONE, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK(result == NULL);
  trust_bytes_free(proof);
  trust_bytes_free(cp);
  trust_bytes_free(cp2);
  trust_audit_log_free(log);
  log = NULL;
  CHECK_OK(trust_audit_log_export(S(dir_log), S(copy), &summary, &err), err);
  CHECK(contains(trust_bytes_data(summary), trust_bytes_len(summary), "\"entries\":3"));
  trust_bytes_free(summary);
  summary = NULL;
  CHECK_OK(trust_audit_log_verify(S(copy), trust_bytes_data(dir_vkey), trust_bytes_len(dir_vkey), &report, &err), err);
  trust_bytes_free(report);
  report = NULL;
  /* The copy holds no key: it cannot be opened for writing. */
  CHECK_STATUS(trust_audit_log_open(S(copy), &log, &err), trust_error_status(err));
  CHECK(err != NULL && log == NULL);
  trust_error_free(err);
  err = NULL;
  CHECK_STATUS(trust_audit_log_export(S(dir_log), S(copy), NULL, &err), TRUST_INVALID_ARGUMENT);
  trust_error_free(err);
  err = NULL;
  REFUSED(trust_audit_log_export(NONE, S(copy), &summary, &e_), TRUST_INVALID_ARGUMENT, "EMPTY_PATH", NULL);
  REFUSED(trust_audit_log_export(S(dir_log), NONE, &summary, &e_), TRUST_INVALID_ARGUMENT, "EMPTY_PATH", NULL);
  REFUSED(trust_audit_log_export(S("redis://:Hidden-Pw-7@127.0.0.1:6379/"), S(copy2), &summary, &e_),
          TRUST_INVALID_ARGUMENT, "STORE_URL_UNSUPPORTED", "Hidden-Pw-7");
  CHECK(summary == NULL);

  const char *url = getenv("TRUST_TEST_STORE_URL");
  if (url == NULL) {
    trust_bytes_free(dir_vkey);
    puts("audit_store: ok (refusals and directory export only: no TRUST_TEST_STORE_URL)");
    return 0;
  }
  char log_url[8192], other_url[8192];
  snprintf(log_url, sizeof log_url, "%s&log=orders", url);
  snprintf(other_url, sizeof other_url, "%s&log=missing", url);

  CHECK_OK(trust_audit_log_init(S(log_url), S("example.com/audit/orders"), &vkey, &err), err);
  CHECK(strncmp((const char *)trust_bytes_data(vkey), "example.com/audit/orders+", 25) == 0);
  trust_bytes *again = NULL;
  REFUSED(trust_audit_log_init(S(log_url), S("example.com/audit/orders"), &again, &e_), TRUST_INVALID_ARGUMENT,
          "AUDIT_LOG_EXISTS", NULL);
  CHECK(again == NULL);
  REFUSED(trust_audit_log_open(S(other_url), &log, &e_), TRUST_INPUT_UNREADABLE, "NOT_AN_AUDIT_LOG", NULL);

  /* Two writers at once (a directory log would make the second wait for the first). */
  trust_audit_log *a = NULL, *b = NULL;
  CHECK_OK(trust_audit_log_open(S(log_url), &a, &err), err);
  CHECK_OK(trust_audit_log_open(S(log_url), &b, &err), err);
  uint64_t index = 99, size = 0;
  CHECK_OK(trust_audit_log_append(a, S("key.rotate"), S("ops@example.com"), NONE, NONE, &index, &err), err);
  CHECK(index == 0);
  CHECK_OK(trust_audit_log_append(b, S("order.export"), S("ops@example.com"), S("customer-42"), S("{\"orders\":3}"),
                                  &index, &err),
           err);
  CHECK(index == 1);
  const uint8_t *keys[1] = {(const uint8_t *)"keyring"};
  size_t key_lens[1] = {7};
  const uint8_t *values[1] = {(const uint8_t *)"orders"};
  size_t value_lens[1] = {6};
  CHECK_OK(trust_audit_log_append_attrs(a, S("key.promote"), NONE, NONE, keys, key_lens, values, value_lens, 1, NONE,
                                        &index, &err),
           err);
  CHECK(index == 2);
  CHECK_OK(trust_audit_log_size(b, &size, &err), err);
  CHECK(size == 3);
  uint8_t root_a[TRUST_MERKLE_HASH_BYTES], root_b[TRUST_MERKLE_HASH_BYTES];
  CHECK_OK(trust_audit_log_root(a, root_a, sizeof root_a, &err), err);
  CHECK_OK(trust_audit_log_root(b, root_b, sizeof root_b, &err), err);
  CHECK(memcmp(root_a, root_b, sizeof root_a) == 0);

  trust_bytes *note = NULL, *receipt = NULL;
  CHECK_OK(trust_audit_log_checkpoint(b, &note, &err), err);
  CHECK(strncmp((const char *)trust_bytes_data(note), "example.com/audit/orders\n3\n", 27) == 0);
  trust_bytes_free(note);
  CHECK_OK(trust_audit_log_prove(a, 1, 0, &receipt, &err), err);
  CHECK_OK(trust_audit_verify_receipt(trust_bytes_data(receipt), trust_bytes_len(receipt), trust_bytes_data(vkey),
                                      trust_bytes_len(vkey), &result, &err),
           err);
  CHECK(contains(trust_bytes_data(result), trust_bytes_len(result), "\"event\":\"order.export\""));
  trust_bytes_free(result);
  trust_bytes_free(receipt);

  /* The whole log verifies through its URL, as a directory log does. */
  CHECK_OK(trust_audit_log_verify(S(log_url), trust_bytes_data(vkey), trust_bytes_len(vkey), &report, &err), err);
  CHECK(contains(trust_bytes_data(report), trust_bytes_len(report), "\"entries\":3"));
  trust_bytes_free(report);
  report = NULL;
  /* Another log's key does not verify it. */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/other", base);
  trust_bytes *other_vkey = NULL;
  CHECK_OK(trust_audit_log_init(S(dir), S("example.com/audit/orders"), &other_vkey, &err), err);
  REFUSED(trust_audit_log_verify(S(log_url), trust_bytes_data(other_vkey), trust_bytes_len(other_vkey), &report, &e_),
          TRUST_VERIFICATION_FAILED, "BAD_SIGNATURE", NULL);
  CHECK(report == NULL);
  trust_bytes_free(other_vkey);
  REFUSED(trust_audit_log_verify(S(other_url), trust_bytes_data(vkey), trust_bytes_len(vkey), &report, &e_),
          TRUST_INPUT_UNREADABLE, "NOT_AN_AUDIT_LOG", NULL);

  /* Exported key-free into a directory, it verifies offline with the same key. */
  CHECK_OK(trust_audit_log_export(S(log_url), S(copy2), &summary, &err), err);
  CHECK(contains(trust_bytes_data(summary), trust_bytes_len(summary), "\"entries\":3"));
  trust_bytes_free(summary);
  CHECK_OK(trust_audit_log_verify(S(copy2), trust_bytes_data(vkey), trust_bytes_len(vkey), &report, &err), err);
  CHECK(contains(trust_bytes_data(report), trust_bytes_len(report), "\"entries\":3"));
  trust_bytes_free(report);
  report = NULL;

  trust_audit_log_free(a);
  trust_audit_log_free(b);
  /* Reopened later (another worker), it continues where it was. */
  CHECK_OK(trust_audit_log_open(S(log_url), &a, &err), err);
  CHECK_OK(trust_audit_log_append(a, S("gdpr.request"), NONE, S("customer-42"), NONE, &index, &err), err);
  CHECK(index == 3);
  trust_audit_log_free(a);
  trust_bytes_free(vkey);
  trust_bytes_free(dir_vkey);
  puts("audit_store: ok (refusals, export and PostgreSQL)");
  return 0;
}
