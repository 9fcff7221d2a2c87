/*
 * audit.c: trust_audit_log_*: create, append, root and size against the merkle functions,
 * checkpoint, verify (clean and after tampering with a segment), and argument errors.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)

static char log_dir[4096];

/* The first regular file under DIR/segments (entries are stored there). */
static int first_segment(char *out, size_t size) {
  char seg_dir[4200];
  snprintf(seg_dir, sizeof seg_dir, "%s/segments", log_dir);
  DIR *d = opendir(seg_dir);
  if (d == NULL) return 0;
  struct dirent *e;
  int found = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') {
      snprintf(out, size, "%s/%s", seg_dir, e->d_name);
      found = 1;
      break;
    }
  }
  closedir(d);
  return found;
}

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  snprintf(log_dir, sizeof log_dir, "%s/audit", base);
  trust_error *err = NULL;

  trust_bytes *vkey = NULL;
  CHECK_OK(trust_audit_log_init(S(log_dir), S("example.com/audit/orders"), &vkey, &err), err);
  CHECK(strncmp((const char *)trust_bytes_data(vkey), "example.com/audit/orders+", 25) == 0);
  /* A second init of the same directory is refused. */
  trust_bytes *again = NULL;
  CHECK_STATUS(trust_audit_log_init(S(log_dir), S("example.com/audit/orders"), &again, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "AUDIT_LOG_EXISTS");
  err = NULL;
  CHECK(again == NULL);

  trust_audit_log *log = NULL;
  CHECK_OK(trust_audit_log_open(S(log_dir), &log, &err), err);
  uint64_t index = 99, size = 99;
  CHECK_OK(trust_audit_log_size(log, &size, &err), err);
  CHECK(size == 0);
  uint8_t root[TRUST_MERKLE_HASH_BYTES], empty[TRUST_MERKLE_HASH_BYTES];
  CHECK_OK(trust_audit_log_root(log, root, sizeof root, &err), err);
  CHECK_OK(trust_merkle_root(NULL, 0, empty, sizeof empty, &err), err);
  CHECK(memcmp(root, empty, sizeof root) == 0);

  CHECK_OK(trust_audit_log_append(log, S("key.rotate"), S("ops@example.com"), NULL, 0, NULL, 0, &index, &err), err);
  CHECK(index == 0);
  CHECK_OK(trust_audit_log_append(log, S("order.export"), S("ops@example.com"), S("customer-42"),
                                  S("{\"orders\":3}"), &index, &err), err);
  CHECK(index == 1);
  CHECK_OK(trust_audit_log_append(log, S("gdpr.request"), NULL, 0, S("customer-42"), NULL, 0, &index, &err), err);
  CHECK(index == 2);
  CHECK_OK(trust_audit_log_size(log, &size, &err), err);
  CHECK(size == 3);
  CHECK_OK(trust_audit_log_root(log, root, sizeof root, &err), err);
  CHECK(memcmp(root, empty, sizeof root) != 0);

  trust_bytes *note = NULL;
  CHECK_OK(trust_audit_log_checkpoint(log, &note, &err), err);
  /* C2SP tlog-checkpoint: origin, size, base64 root, blank line, signature line. */
  CHECK(strncmp((const char *)trust_bytes_data(note), "example.com/audit/orders\n3\n", 27) == 0);
  CHECK(strstr((const char *)trust_bytes_data(note), "\n\n\xe2\x80\x94 example.com/audit/orders ") != NULL);
  trust_bytes_free(note);

  /* Invalid entries are refused and nothing is appended. */
  CHECK_STATUS(trust_audit_log_append(log, S("Not An Event"), NULL, 0, NULL, 0, NULL, 0, &index, &err),
               TRUST_INVALID_ARGUMENT);
  CHECK(trust_error_code(err) != NULL);
  trust_error_free(err);
  err = NULL;
  CHECK_OK(trust_audit_log_size(log, &size, &err), err);
  CHECK(size == 3);

  /* Verify with the auditor's key: OK, with a JSON report. */
  trust_bytes *report = NULL;
  CHECK_OK(trust_audit_log_verify(S(log_dir), trust_bytes_data(vkey), trust_bytes_len(vkey), &report, &err), err);
  CHECK(strstr((const char *)trust_bytes_data(report), "\"entries\":3") != NULL);
  trust_bytes_free(report);
  report = NULL;

  /* A different key does not verify the checkpoint. */
  trust_bytes *other_vkey = NULL;
  char other_dir[4200];
  snprintf(other_dir, sizeof other_dir, "%s/other", base);
  CHECK_OK(trust_audit_log_init(S(other_dir), S("example.com/audit/orders"), &other_vkey, &err), err);
  CHECK_STATUS(trust_audit_log_verify(S(log_dir), trust_bytes_data(other_vkey), trust_bytes_len(other_vkey), &report, &err),
               TRUST_VERIFICATION_FAILED);
  CHECK(strcmp(trust_error_code(err), "BAD_SIGNATURE") == 0);
  trust_error_free(err);
  err = NULL;
  CHECK(report == NULL);
  trust_bytes_free(other_vkey);
  CHECK_STATUS(trust_audit_log_verify(S(log_dir), S("not a vkey"), &report, &err), TRUST_INVALID_ARGUMENT);
  trust_error_free(err);
  err = NULL;

  /* Attributes, then an inclusion receipt an auditor verifies without the log. */
  const uint8_t *keys[2] = {(const uint8_t *)"keyring", (const uint8_t *)"version"};
  size_t key_lens[2] = {7, 7};
  const uint8_t *values[2] = {(const uint8_t *)"orders", (const uint8_t *)"2"};
  size_t value_lens[2] = {6, 1};
  CHECK_OK(trust_audit_log_append_attrs(log, S("key.rotate"), S("ops@example.com"), NULL, 0, keys, key_lens, values,
                                        value_lens, 2, NULL, 0, &index, &err),
           err);
  CHECK(index == 3);
  CHECK_STATUS(trust_audit_log_append_attrs(log, S("key.rotate"), NULL, 0, NULL, 0, keys, NULL, values, value_lens, 2,
                                            NULL, 0, &index, NULL),
               TRUST_NULL_ARGUMENT);
  trust_bytes *receipt = NULL, *result = NULL;
  CHECK_OK(trust_audit_log_prove(log, 3, 0, &receipt, &err), err);
  CHECK(strncmp((const char *)trust_bytes_data(receipt), "c2sp.org/tlog-proof@v1\n", 23) == 0);
  CHECK_OK(trust_audit_verify_receipt(trust_bytes_data(receipt), trust_bytes_len(receipt), trust_bytes_data(vkey),
                                      trust_bytes_len(vkey), &result, &err),
           err);
  CHECK(contains(trust_bytes_data(result), trust_bytes_len(result), "\"index\":3"));
  CHECK(contains(trust_bytes_data(result), trust_bytes_len(result), "\"event\":\"key.rotate\""));
  trust_bytes_free(result);
  result = NULL;
  /* Another log's key, an altered receipt, garbage: refused, nothing written. */
  trust_bytes *other_key = NULL;
  char third_dir[4200];
  snprintf(third_dir, sizeof third_dir, "%s/third", base);
  CHECK_OK(trust_audit_log_init(S(third_dir), S("example.com/audit/orders"), &other_key, &err), err);
  CHECK_STATUS(trust_audit_verify_receipt(trust_bytes_data(receipt), trust_bytes_len(receipt),
                                          trust_bytes_data(other_key), trust_bytes_len(other_key), &result, &err),
               TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  trust_bytes_free(other_key);
  size_t rlen = trust_bytes_len(receipt);
  uint8_t *altered = malloc(rlen);
  CHECK(altered != NULL);
  memcpy(altered, trust_bytes_data(receipt), rlen);
  char *idx = strstr((char *)altered, "\nindex 3\n");
  CHECK(idx != NULL);
  idx[7] = '2'; /* claim the receipt is for entry 2 */
  CHECK_STATUS(trust_audit_verify_receipt(altered, rlen, trust_bytes_data(vkey), trust_bytes_len(vkey), &result, &err),
               TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  free(altered);
  CHECK(result == NULL);
  CHECK_STATUS(trust_audit_verify_receipt(S("not a receipt"), trust_bytes_data(vkey), trust_bytes_len(vkey), NULL, NULL),
               TRUST_VERIFICATION_FAILED);
  CHECK_OK(trust_audit_verify_receipt(trust_bytes_data(receipt), trust_bytes_len(receipt), trust_bytes_data(vkey),
                                      trust_bytes_len(vkey), NULL, &err),
           err);
  trust_bytes_free(receipt);
  receipt = NULL;
  CHECK_STATUS(trust_audit_log_prove(log, 99, 0, &receipt, &err), trust_error_status(err));
  CHECK(err != NULL && receipt == NULL);
  trust_error_free(err);
  err = NULL;
  CHECK_STATUS(trust_audit_log_prove(NULL, 0, 0, &receipt, NULL), TRUST_NULL_ARGUMENT);

  /* Tamper with a stored entry: flip one byte in the middle of the segment. */
  trust_audit_log_free(log);
  char segment[8192];
  CHECK(first_segment(segment, sizeof segment));
  FILE *f = fopen(segment, "r+b");
  CHECK(f != NULL);
  CHECK(fseek(f, 0, SEEK_END) == 0);
  long len = ftell(f);
  CHECK(len > 64);
  /* Inside the first record (24-byte header, 4-byte length, then the leaf): the file is
     longer than its data, because segments are preallocated. */
  CHECK(fseek(f, 40, SEEK_SET) == 0);
  int c = fgetc(f);
  CHECK(c != EOF);
  CHECK(fseek(f, 40, SEEK_SET) == 0);
  fputc(c ^ 0x01, f);
  fclose(f);
  CHECK_STATUS(trust_audit_log_verify(S(log_dir), trust_bytes_data(vkey), trust_bytes_len(vkey), &report, &err),
               TRUST_VERIFICATION_FAILED);
  CHECK(trust_error_code(err) != NULL && strstr(trust_error_message(err), "verification failed") != NULL);
  trust_error_free(err);
  err = NULL;
  CHECK(report == NULL);

  /* Argument errors. */
  CHECK_STATUS(trust_audit_log_open(S(base), &log, &err), TRUST_INPUT_UNREADABLE);
  EXPECT_ERROR(err, TRUST_INPUT_UNREADABLE, "NOT_AN_AUDIT_LOG");
  err = NULL;
  CHECK_STATUS(trust_audit_log_init(NULL, 4, S("o"), &vkey, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_audit_log_init(S("d"), S("o"), NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_audit_log_open(S(log_dir), NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_audit_log_append(NULL, S("e"), NULL, 0, NULL, 0, NULL, 0, &index, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_audit_log_size(NULL, &size, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_audit_log_root(NULL, root, sizeof root, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_audit_log_checkpoint(NULL, &note, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_audit_log_verify(S(log_dir), NULL, 4, &report, NULL), TRUST_NULL_ARGUMENT);
  CHECK_OK(trust_audit_log_open(S(other_dir), &log, &err), err);
  uint8_t small[31];
  CHECK_STATUS(trust_audit_log_root(log, small, sizeof small, NULL), TRUST_BUFFER_TOO_SMALL);
  CHECK_STATUS(trust_audit_log_append(log, S("e"), NULL, 0, NULL, 0, NULL, 0, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_audit_log_size(log, NULL, NULL), TRUST_NULL_ARGUMENT);
  trust_audit_log_free(log);

  trust_bytes_free(vkey);
  trust_audit_log_free(NULL);
  trust_audit_log_free(NULL);
  puts("audit: ok");
  return 0;
}
