/*
 * lifecycle.c: trust_home_promote, _retire, _enable and _destroy: the key states an operator
 * moves a version through, the guard against destroying a key that still decrypts live data,
 * and the refusals for every transition that is not allowed. (The grace period of a scheduled
 * destruction is a keyring policy the ABI does not set; trust-core's tests cover it.)
 */
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define NONE NULL, 0

static trust_home *home;

static void expect(trust_status got, trust_error *err, trust_status status, const char *code, int line) {
  if (got != status) {
    fprintf(stderr, "lifecycle.c:%d: got %s, expected %s (%s)\n", line, trust_status_str(got), trust_status_str(status),
            err ? trust_error_message(err) : "");
    exit(1);
  }
  expect_error(err, status, code, __FILE__, line);
}
#define EXPECT(call, status, code)             \
  do {                                         \
    trust_error *e_ = NULL;                    \
    trust_status s_ = (call);                  \
    expect(s_, e_, status, code, __LINE__);    \
  } while (0)

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  char dir[4096], key[4096];
  snprintf(dir, sizeof dir, "%s/home", base);
  snprintf(key, sizeof key, "%s/root.key", base);
  trust_error *err = NULL;
  CHECK_OK(trust_home_init_key_file(S(dir), S(key), &home, &err), err);
  CHECK_OK(trust_home_create_keyring(home, S("orders"), TRUST_SUITE_AES_256_GCM, &err), err);
  trust_context *ctx = NULL;
  CHECK_OK(trust_context_new(&ctx, &err), err);

  /* v1 seals a message; v2 is staged, then promoted. */
  trust_bytes *sealed = NULL, *opened = NULL;
  CHECK_OK(trust_home_seal(home, S("orders"), ctx, S("order 1042"), &sealed, &err), err);
  uint32_t v = 0;
  CHECK_OK(trust_home_rotate(home, S("orders"), false, &v, &err), err);
  CHECK(v == 2);
  EXPECT(trust_home_promote(home, S("orders"), 1, &e_), TRUST_INVALID_ARGUMENT, "INVALID_TRANSITION");
  CHECK_OK(trust_home_promote(home, S("orders"), 2, &err), err);
  trust_bytes *info = NULL;
  CHECK_OK(trust_home_keyring_info(home, S("orders"), &info, &err), err);
  CHECK(contains(trust_bytes_data(info), trust_bytes_len(info), "\"primary\":2"));
  trust_bytes_free(info);

  /* The Primary cannot be retired; v1 (DecryptOnly) can, and then no longer decrypts. */
  EXPECT(trust_home_retire(home, S("orders"), 2, &e_), TRUST_INVALID_ARGUMENT, "INVALID_TRANSITION");
  CHECK_OK(trust_home_retire(home, S("orders"), 1, &err), err);
  CHECK_STATUS(trust_home_open(home, ctx, trust_bytes_data(sealed), trust_bytes_len(sealed), &opened, &err),
               TRUST_KEY_UNAVAILABLE);
  trust_error_free(err);
  err = NULL;
  CHECK(opened == NULL);
  /* Enabled again, it decrypts again. */
  CHECK_OK(trust_home_enable(home, S("orders"), 1, &err), err);
  CHECK_OK(trust_home_open(home, ctx, trust_bytes_data(sealed), trust_bytes_len(sealed), &opened, &err), err);
  CHECK(bytes_eq_str(opened, "order 1042"));
  trust_bytes_free(opened);
  EXPECT(trust_home_enable(home, S("orders"), 1, &e_), TRUST_INVALID_ARGUMENT, "INVALID_TRANSITION");

  /* Destroying needs Disabled first; v1 sealed a message nothing moved off it: refused unless
   * forced, and a forced destruction is scheduled first (grace period). */
  bool destroyed = true;
  int64_t after = 0;
  EXPECT(trust_home_destroy(home, S("orders"), 1, NONE, &destroyed, &after, &e_), TRUST_INVALID_ARGUMENT,
         "INVALID_TRANSITION");
  CHECK_OK(trust_home_retire(home, S("orders"), 1, &err), err);
  EXPECT(trust_home_destroy(home, S("orders"), 1, NONE, &destroyed, &after, &e_), TRUST_REFUSED, "KEY_STILL_IN_USE");
  CHECK(destroyed && after == 0); /* untouched on failure */
  /* Forced: with the default grace period (none) the key material is erased at once; the
   * message it sealed no longer opens, and a destroyed version cannot come back. */
  CHECK_OK(trust_home_destroy(home, S("orders"), 1, S("backups restored elsewhere"), &destroyed, &after, &err), err);
  CHECK(destroyed && after == 0);
  CHECK_STATUS(trust_home_open(home, ctx, trust_bytes_data(sealed), trust_bytes_len(sealed), &opened, &err),
               TRUST_KEY_UNAVAILABLE);
  trust_error_free(err);
  err = NULL;
  EXPECT(trust_home_enable(home, S("orders"), 1, &e_), TRUST_INVALID_ARGUMENT, "INVALID_TRANSITION");
  EXPECT(trust_home_destroy(home, S("orders"), 1, NONE, &destroyed, NULL, &e_), TRUST_INVALID_ARGUMENT,
         "INVALID_TRANSITION");
  /* A Staged version (an aborted rollout) sealed nothing: destroyed without a reason. */
  CHECK_OK(trust_home_rotate(home, S("orders"), false, &v, &err), err);
  CHECK(v == 3);
  destroyed = false;
  CHECK_OK(trust_home_destroy(home, S("orders"), 3, NONE, &destroyed, NULL, &err), err);
  CHECK(destroyed);

  /* Unknown keyring or version, NULLs. */
  CHECK_STATUS(trust_home_promote(home, S("nope"), 1, NULL), TRUST_KEY_UNAVAILABLE);
  CHECK_STATUS(trust_home_retire(home, S("orders"), 99, NULL), TRUST_KEY_UNAVAILABLE);
  CHECK_STATUS(trust_home_enable(NULL, S("orders"), 1, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_destroy(home, S("orders"), 1, NONE, NULL, NULL, NULL), TRUST_NULL_ARGUMENT);

  trust_bytes_free(sealed);
  trust_context_free(ctx);
  trust_home_free(home);
  puts("lifecycle: ok");
  return 0;
}
