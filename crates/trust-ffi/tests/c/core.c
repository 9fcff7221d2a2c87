/*
 * core.c: the ABI plumbing every binding relies on: statuses and their names, error objects,
 * library-owned byte buffers, version macros against runtime values, and a panic caught at the
 * boundary.
 */
#include <stdint.h>

#include "check.h"

static void test_versions(void) {
  char expected[64];
  snprintf(expected, sizeof expected, "trust-ffi/%d.%d.%d", TRUST_VERSION_MAJOR,
           TRUST_VERSION_MINOR, TRUST_VERSION_PATCH);
  CHECK(strcmp(trust_version(), expected) == 0);
  CHECK(trust_abi_version() == TRUST_ABI_VERSION);
  /* The version string is static: the same pointer every time, never freed. */
  CHECK(trust_version() == trust_version());
}

static void test_status_names(void) {
  static const struct {
    trust_status status;
    unsigned value;
    const char *name;
  } table[] = {
      {TRUST_OK, 0, "TRUST_OK"},
      {TRUST_VERIFICATION_FAILED, 100, "TRUST_VERIFICATION_FAILED"},
      {TRUST_INVALID_ARGUMENT, 200, "TRUST_INVALID_ARGUMENT"},
      {TRUST_NULL_ARGUMENT, 201, "TRUST_NULL_ARGUMENT"},
      {TRUST_BUFFER_TOO_SMALL, 202, "TRUST_BUFFER_TOO_SMALL"},
      {TRUST_INVALID_UTF8, 203, "TRUST_INVALID_UTF8"},
      {TRUST_INPUT_UNREADABLE, 300, "TRUST_INPUT_UNREADABLE"},
      {TRUST_KEY_UNAVAILABLE, 400, "TRUST_KEY_UNAVAILABLE"},
      {TRUST_REFUSED, 500, "TRUST_REFUSED"},
      {TRUST_INTERNAL, 700, "TRUST_INTERNAL"},
      {TRUST_PANIC, 701, "TRUST_PANIC"},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    CHECK((unsigned)table[i].status == table[i].value);
    CHECK(strcmp(trust_status_str(table[i].status), table[i].name) == 0);
  }
  CHECK(strcmp(trust_status_str(1), "TRUST_UNKNOWN_STATUS") == 0);
  CHECK(strcmp(trust_status_str(UINT32_MAX), "TRUST_UNKNOWN_STATUS") == 0);
}

static void test_panic_is_a_status(void) {
  /* Without an error object. */
  CHECK_STATUS(trust_test_panic(NULL), TRUST_PANIC);
  /* With one: status, code and a message, and no hint. */
  trust_error *err = NULL;
  CHECK_STATUS(trust_test_panic(&err), TRUST_PANIC);
  CHECK(err != NULL);
  CHECK(trust_error_hint(err) == NULL);
  CHECK(strstr(trust_error_message(err), "panic") != NULL);
  EXPECT_ERROR(err, TRUST_PANIC, "PANIC");
  /* The library still works after a caught panic. */
  CHECK(trust_abi_version() == TRUST_ABI_VERSION);
}

static void test_null_is_harmless(void) {
  CHECK(trust_error_status(NULL) == TRUST_NULL_ARGUMENT);
  CHECK(trust_error_code(NULL) == NULL);
  CHECK(trust_error_message(NULL) == NULL);
  CHECK(trust_error_hint(NULL) == NULL);
  CHECK(trust_bytes_data(NULL) == NULL);
  CHECK(trust_bytes_len(NULL) == 0);
  /* _free(NULL) is a no-op, any number of times. */
  trust_error_free(NULL);
  trust_error_free(NULL);
  trust_bytes_free(NULL);
  trust_bytes_free(NULL);
}

int main(void) {
  test_versions();
  test_status_names();
  test_panic_is_a_status();
  test_null_is_harmless();
  puts("core: ok");
  return 0;
}
