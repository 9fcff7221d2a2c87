/*
 * check.h: the few helpers every C test program shares.
 *
 * A failed check prints file:line, the expression and (for statuses) the status names, then
 * exits 1 so the Rust harness (tests/c_abi.rs) reports the program as failed. No allocation
 * happens here, so valgrind and LeakSanitizer see only the library's memory.
 */
#ifndef TRUST_TEST_CHECK_H
#define TRUST_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trust.h"

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

/* Checks that `call` returns `expected`, printing both names otherwise. */
#define CHECK_STATUS(call, expected)                                             \
  do {                                                                           \
    trust_status check_got_ = (call);                                            \
    if (check_got_ != (expected)) {                                              \
      fprintf(stderr, "%s:%d: %s returned %s (%u), expected %s\n", __FILE__,     \
              __LINE__, #call, trust_status_str(check_got_),                     \
              (unsigned)check_got_, trust_status_str(expected));                 \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

/* Checks that `call` succeeds; `err` is the `trust_error *` whose address the call was given,
 * whose message is printed on failure. */
#define CHECK_OK(call, err)                                                      \
  do {                                                                           \
    trust_status check_got_ = (call);                                            \
    if (check_got_ != TRUST_OK) {                                                \
      fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #call,  \
              trust_status_str(check_got_),                                      \
              (err) ? trust_error_message(err) : "(no detail)");                 \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

/* The bytes of `b` equal the NUL-terminated string `s`. */
static inline int bytes_eq_str(const trust_bytes *b, const char *s) {
  return trust_bytes_len(b) == strlen(s) && memcmp(trust_bytes_data(b), s, strlen(s)) == 0;
}

/* Whether `needle` occurs in the `len` bytes at `hay` (memmem is not standard C). */
static inline int contains(const uint8_t *hay, size_t len, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; n <= len && i <= len - n; i++) {
    if (memcmp(hay + i, needle, n) == 0) return 1;
  }
  return 0;
}

/* Checks that `err` holds `expected_status` and `expected_code`, then frees it. */
static inline void expect_error(trust_error *err, trust_status expected_status,
                                const char *expected_code, const char *file, int line) {
  if (err == NULL) {
    fprintf(stderr, "%s:%d: expected an error object, got NULL\n", file, line);
    exit(1);
  }
  if (trust_error_status(err) != expected_status ||
      strcmp(trust_error_code(err), expected_code) != 0 || trust_error_message(err) == NULL ||
      trust_error_message(err)[0] == '\0') {
    fprintf(stderr, "%s:%d: error is %s/%s (%s), expected %s/%s\n", file, line,
            trust_status_str(trust_error_status(err)), trust_error_code(err),
            trust_error_message(err), trust_status_str(expected_status), expected_code);
    exit(1);
  }
  trust_error_free(err);
}
#define EXPECT_ERROR(err, status, code) expect_error((err), (status), (code), __FILE__, __LINE__)

#endif /* TRUST_TEST_CHECK_H */
