/*
 * access.c: trust_access_* (the standard and a custom role table, members, revocation,
 * allow/deny overrides, and each rule that refuses, by its code) and trust_rate_limiter_*
 * (GCRA bursts and the wait before the next request, per tenant and route; through Redis
 * shared by two limiters when the harness gives TRUST_TEST_REDIS_URL), with every refusal.
 */
#include <stdint.h>
#include <time.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define NONE NULL, 0

static void expect(trust_status got, trust_error *err, trust_status status, const char *code, int line) {
  if (got != status) {
    fprintf(stderr, "access.c:%d: got %s, expected %s (%s: %s)\n", line, trust_status_str(got),
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

#define ALLOWED(acl, tenant, member, action) \
  CHECK_OK(trust_access_authorize(acl, S(tenant), S(member), S(action), S(tenant), S("ticket"), S("T-1"), &err), err)
#define REFUSED(acl, tenant, member, action, rtenant, code)                                                     \
  EXPECT(trust_access_authorize(acl, S(tenant), S(member), S(action), S(rtenant), S("ticket"), S("T-1"), &e_), \
         TRUST_REFUSED, code)

int main(void) {
  trust_error *err = NULL;

  /* --- access control: the standard table -------------------------------------------------- */
  trust_access *acl = NULL;
  CHECK_OK(trust_access_new(NONE, &acl, &err), err);
  const uint8_t *roles[2] = {(const uint8_t *)"agent", (const uint8_t *)"owner"};
  size_t role_lens[2] = {5, 5};
  CHECK_OK(trust_access_add_member(acl, S("acme"), S("alice"), roles, role_lens, 1, &err), err);
  ALLOWED(acl, "acme", "alice", "tickets.reply");
  ALLOWED(acl, "acme", "alice", "customers.read");
  REFUSED(acl, "acme", "alice", "customers.delete", "acme", "ACCESS_NO_PERMISSION");
  REFUSED(acl, "acme", "alice", "tickets.reply", "globex", "ACCESS_CROSS_TENANT");
  REFUSED(acl, "acme", "mallory", "tickets.reply", "acme", "ACCESS_NOT_A_MEMBER");
  REFUSED(acl, "acme", "alice", "Tickets..Reply", "acme", "ACCESS_INVALID_ACTION");
  /* Overrides: allow beyond the roles, deny beats everything; roles revoked; members removed. */
  CHECK_OK(trust_access_allow(acl, S("acme"), S("alice"), S("customers.export"), &err), err);
  ALLOWED(acl, "acme", "alice", "customers.export");
  CHECK_OK(trust_access_deny(acl, S("acme"), S("alice"), S("tickets.delete"), &err), err);
  REFUSED(acl, "acme", "alice", "tickets.delete", "acme", "ACCESS_DENIED_OVERRIDE");
  CHECK_OK(trust_access_add_member(acl, S("acme"), S("alice"), &roles[1], &role_lens[1], 1, &err), err);
  REFUSED(acl, "acme", "alice", "tickets.delete", "acme", "ACCESS_DENIED_OVERRIDE");
  ALLOWED(acl, "acme", "alice", "billing.update");
  CHECK_OK(trust_access_revoke_role(acl, S("acme"), S("alice"), S("owner"), &err), err);
  REFUSED(acl, "acme", "alice", "billing.update", "acme", "ACCESS_NO_PERMISSION");
  CHECK_OK(trust_access_remove_member(acl, S("acme"), S("alice"), &err), err);
  REFUSED(acl, "acme", "alice", "tickets.reply", "acme", "ACCESS_NOT_A_MEMBER");
  CHECK_OK(trust_access_remove_member(acl, S("acme"), S("nobody"), &err), err);
  /* Changes that are refused leave the table as it was. */
  const uint8_t *unknown[1] = {(const uint8_t *)"superuser"};
  size_t unknown_len[1] = {9};
  EXPECT(trust_access_add_member(acl, S("acme"), S("bob"), unknown, unknown_len, 1, &e_), TRUST_INVALID_ARGUMENT,
         "ACCESS_UNKNOWN_ROLE");
  REFUSED(acl, "acme", "bob", "tickets.reply", "acme", "ACCESS_NOT_A_MEMBER");
  EXPECT(trust_access_allow(acl, S("acme"), S("bob"), S("tickets.*"), &e_), TRUST_INVALID_ARGUMENT,
         "ACCESS_UNKNOWN_MEMBER");
  EXPECT(trust_access_add_member(acl, S("acme"), S("b o b"), roles, role_lens, 1, &e_), TRUST_INVALID_ARGUMENT,
         "ACCESS_INVALID_NAME");
  const uint8_t *bad_utf8[1] = {(const uint8_t *)"\xff"};
  size_t bad_utf8_len[1] = {1};
  EXPECT(trust_access_add_member(acl, S("acme"), S("bob"), bad_utf8, bad_utf8_len, 1, &e_), TRUST_INVALID_UTF8,
         "INVALID_UTF8");
  CHECK_STATUS(trust_access_add_member(acl, S("acme"), S("bob"), roles, NULL, 1, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_access_add_member(NULL, S("acme"), S("bob"), NULL, NULL, 0, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_access_remove_member(NULL, S("acme"), S("bob"), NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_access_revoke_role(NULL, S("acme"), S("bob"), S("agent"), NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_access_allow(NULL, S("acme"), S("bob"), S("x"), NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_access_deny(acl, S("acme"), NULL, 3, S("x"), NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_access_authorize(NULL, S("acme"), S("bob"), S("x"), S("acme"), S("t"), S("1"), NULL),
               TRUST_NULL_ARGUMENT);
  trust_access_free(acl);
  trust_access_free(NULL);

  /* A custom role table; malformed ones are refused. */
  CHECK_OK(trust_access_new(S("{\"support\":[\"tickets.read\",\"tickets.reply\"]}"), &acl, &err), err);
  const uint8_t *support[1] = {(const uint8_t *)"support"};
  size_t support_len[1] = {7};
  CHECK_OK(trust_access_add_member(acl, S("acme"), S("carol"), support, support_len, 1, &err), err);
  ALLOWED(acl, "acme", "carol", "tickets.reply");
  REFUSED(acl, "acme", "carol", "tickets.close", "acme", "ACCESS_NO_PERMISSION");
  trust_access_free(acl);
  acl = NULL;
  EXPECT(trust_access_new(S("[\"owner\"]"), &acl, &e_), TRUST_INVALID_ARGUMENT, "ACCESS_INVALID_ROLES");
  EXPECT(trust_access_new(S("{not json"), &acl, &e_), TRUST_INVALID_ARGUMENT, "ACCESS_INVALID_ROLES");
  CHECK(acl == NULL);
  CHECK_STATUS(trust_access_new(NONE, NULL, NULL), TRUST_NULL_ARGUMENT);

  /* --- rate limits, in this process --------------------------------------------------------- */
  trust_rate_limiter *rl = NULL;
  CHECK_OK(trust_rate_limiter_new(NONE, 2, 60000, 3, &rl, &err), err); /* 2/min, bursts of 3 */
  uint64_t wait = 99;
  for (int i = 0; i < 3; i++) {
    CHECK_OK(trust_rate_limiter_check(rl, S("acme"), S("POST /webhooks"), 1, &wait, &err), err);
    CHECK(wait == 0);
  }
  CHECK_OK(trust_rate_limiter_check(rl, S("acme"), S("POST /webhooks"), 1, &wait, &err), err);
  CHECK(wait > 0 && wait <= 30000);
  /* Another tenant and another route have budgets of their own. */
  CHECK_OK(trust_rate_limiter_check(rl, S("globex"), S("POST /webhooks"), 3, &wait, &err), err);
  CHECK(wait == 0);
  CHECK_OK(trust_rate_limiter_check(rl, S("acme"), S("GET /orders"), 1, &wait, &err), err);
  CHECK(wait == 0);
  wait = 7;
  EXPECT(trust_rate_limiter_check(rl, S("acme"), S("GET /orders"), 4, &wait, &e_), TRUST_INVALID_ARGUMENT,
         "RATE_COST_EXCEEDS_BURST");
  CHECK(wait == 7);
  CHECK_STATUS(trust_rate_limiter_check(rl, S("acme"), S("r"), 1, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_rate_limiter_check(NULL, S("acme"), S("r"), 1, &wait, NULL), TRUST_NULL_ARGUMENT);
  trust_rate_limiter_free(rl);
  trust_rate_limiter_free(NULL);
  rl = NULL;
  EXPECT(trust_rate_limiter_new(NONE, 0, 1000, 0, &rl, &e_), TRUST_INVALID_ARGUMENT, "RATE_INVALID_QUOTA");
  EXPECT(trust_rate_limiter_new(NONE, 1, 0, 0, &rl, &e_), TRUST_INVALID_ARGUMENT, "RATE_INVALID_QUOTA");
  CHECK_STATUS(trust_rate_limiter_new(S("postgres://trust:Hidden-Pw-5@127.0.0.1:1/x"), 1, 1000, 0, &rl, &err),
               TRUST_INVALID_ARGUMENT);
  CHECK(strstr(trust_error_message(err), "Hidden-Pw-5") == NULL);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "STORE_URL_UNSUPPORTED");
  err = NULL;
  EXPECT(trust_rate_limiter_new(S("memcached://cache/"), 1, 1000, 0, &rl, &e_), TRUST_INVALID_ARGUMENT,
         "STORE_URL_UNSUPPORTED");
  CHECK_STATUS(trust_rate_limiter_new(S("a/relative/path"), 1, 1000, 0, &rl, &err), TRUST_INVALID_ARGUMENT);
  trust_error_free(err);
  err = NULL;
  CHECK(rl == NULL);
  CHECK_STATUS(trust_rate_limiter_new(NONE, 1, 1000, 0, NULL, NULL), TRUST_NULL_ARGUMENT);

  /* --- rate limits shared through Redis: two limiters (two workers), one budget -------------- */
  const char *redis = getenv("TRUST_TEST_REDIS_URL");
  if (redis == NULL || redis[0] == '\0') {
    puts("access: ok (rate limits in-process only: no TRUST_TEST_REDIS_URL)");
    return 0;
  }
  char tenant[64];
  snprintf(tenant, sizeof tenant, "ffi-%ld-%d", (long)time(NULL), rand());
  trust_rate_limiter *w1 = NULL, *w2 = NULL;
  CHECK_OK(trust_rate_limiter_new(S(redis), 2, 60000, 2, &w1, &err), err);
  CHECK_OK(trust_rate_limiter_new(S(redis), 2, 60000, 2, &w2, &err), err);
  CHECK_OK(trust_rate_limiter_check(w1, S(tenant), S("POST /login"), 1, &wait, &err), err);
  CHECK(wait == 0);
  CHECK_OK(trust_rate_limiter_check(w2, S(tenant), S("POST /login"), 1, &wait, &err), err);
  CHECK(wait == 0);
  CHECK_OK(trust_rate_limiter_check(w1, S(tenant), S("POST /login"), 1, &wait, &err), err);
  CHECK(wait > 0 && wait <= 30000);
  CHECK_OK(trust_rate_limiter_check(w2, S(tenant), S("POST /login"), 1, &wait, &err), err);
  CHECK(wait > 0);
  EXPECT(trust_rate_limiter_check(w2, S(tenant), S("POST /login"), 3, &wait, &e_), TRUST_INVALID_ARGUMENT,
         "RATE_COST_EXCEEDS_BURST");
  trust_rate_limiter_free(w1);
  trust_rate_limiter_free(w2);
  CHECK_STATUS(trust_rate_limiter_new(S("redis://:Hidden-Pw-6@127.0.0.1:1/"), 1, 1000, 0, &rl, &err),
               TRUST_INPUT_UNREADABLE);
  CHECK(strstr(trust_error_message(err), "Hidden-Pw-6") == NULL);
  EXPECT_ERROR(err, TRUST_INPUT_UNREADABLE, "REDIS_UNREACHABLE");
  CHECK(rl == NULL);
  puts("access: ok (rate limits in-process and through Redis)");
  return 0;
}
