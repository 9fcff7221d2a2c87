/*
 * replay.c: trust_replay_guard_*: a delivery id is admitted once, in-process and through the
 * shared stores (Redis with TRUST_TEST_REDIS_URL, PostgreSQL with TRUST_TEST_STORE_URL, a fresh
 * schema), where two guards stand for two workers; expiry; and what is refused.
 */
#include <stdint.h>
#include <time.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define NONE NULL, 0

/* Two guards on one store: the id is admitted by the first and refused by the second. */
static void two_workers(const char *url, const char *what) {
  trust_error *err = NULL;
  trust_replay_guard *a = NULL, *b = NULL;
  size_t len = url ? strlen(url) : 0;
  CHECK_OK(trust_replay_guard_new((const uint8_t *)url, len, 300, &a, &err), err);
  CHECK_OK(trust_replay_guard_new((const uint8_t *)url, len, 300, &b, &err), err);
  char id[64];
  snprintf(id, sizeof id, "b54557e4-%ld-%d", (long)time(NULL), rand());
  int64_t now = (int64_t)time(NULL);
  CHECK_OK(trust_replay_guard_check(a, S("shopify"), S(id), now, &err), err);
  CHECK_STATUS(trust_replay_guard_check(url ? b : a, S("shopify"), S(id), now + 1, &err), TRUST_VERIFICATION_FAILED);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "REPLAYED");
  err = NULL;
  /* Another namespace is another id. */
  CHECK_OK(trust_replay_guard_check(b, S("github"), S(id), now, &err), err);
  if (url == NULL) {
    /* After the ttl the id is admitted again (the shared stores expire ids on the server's
     * clock, so this is only checked in-process). */
    CHECK_OK(trust_replay_guard_check(b, S("shopify"), S(id), now + 301, &err), err);
  }
  trust_replay_guard_free(a);
  trust_replay_guard_free(b);
  printf("replay: %s ok\n", what);
}

int main(void) {
  srand((unsigned)time(NULL));
  two_workers(NULL, "in-process");

  trust_error *err = NULL;
  trust_replay_guard *g = NULL;
  CHECK_OK(trust_replay_guard_new(NONE, 0, &g, &err), err);
  CHECK_STATUS(trust_replay_guard_check(g, S("shopify"), NONE, 1, &err), TRUST_VERIFICATION_FAILED);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "MALFORMED");
  err = NULL;
  CHECK_STATUS(trust_replay_guard_check(NULL, S("shopify"), S("x"), 1, NULL), TRUST_NULL_ARGUMENT);
  trust_replay_guard_free(g);
  trust_replay_guard_free(NULL);

  /* A directory is no shared store; other schemes are refused; a password is never shown. */
  trust_replay_guard *none = NULL;
  CHECK_STATUS(trust_replay_guard_new(S("/var/lib/trust"), 0, &none, &err), TRUST_INVALID_ARGUMENT);
  trust_error_free(err);
  err = NULL;
  CHECK_STATUS(trust_replay_guard_new(S("memcached://u:Hidden-Pw-5@cache/"), 0, &none, &err), TRUST_INVALID_ARGUMENT);
  CHECK(strstr(trust_error_message(err), "Hidden-Pw-5") == NULL);
  trust_error_free(err);
  err = NULL;
  CHECK_STATUS(trust_replay_guard_new(S("postgres://trust:Hidden-Pw-6@127.0.0.1:1/x?connect_timeout=2"), 0, &none,
                                      &err),
               TRUST_INPUT_UNREADABLE);
  CHECK(strstr(trust_error_message(err), "Hidden-Pw-6") == NULL);
  trust_error_free(err);
  err = NULL;
  CHECK(none == NULL);
  CHECK_STATUS(trust_replay_guard_new(NULL, 0, 0, NULL, NULL), TRUST_NULL_ARGUMENT);

  const char *redis = getenv("TRUST_TEST_REDIS_URL");
  if (redis != NULL && redis[0] != '\0') {
    two_workers(redis, "Redis");
  } else {
    puts("replay: Redis skipped (TRUST_TEST_REDIS_URL unset)");
  }
  const char *pg = getenv("TRUST_TEST_STORE_URL");
  if (pg != NULL) {
    two_workers(pg, "PostgreSQL");
  } else {
    puts("replay: PostgreSQL skipped (no TRUST_TEST_STORE_URL)");
  }
  return 0;
}
