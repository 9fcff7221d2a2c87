/*
 * token.c: trust_access_token_issue / _verify: scoped session tokens bound to a tenant, scopes
 * and an audience, checked at fixed times, and every way a token is refused.
 */
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define NONE NULL, 0
#define T0 1700000000

static trust_home *home;

static void refused(trust_status got, trust_error *err, const char *code, int line) {
  if (got != TRUST_VERIFICATION_FAILED) {
    fprintf(stderr, "token.c:%d: got %s\n", line, trust_status_str(got));
    exit(1);
  }
  expect_error(err, TRUST_VERIFICATION_FAILED, code, __FILE__, line);
}
#define REFUSED(token, tenant, scope, audience, now, code)                                             \
  do {                                                                                                 \
    trust_error *e_ = NULL;                                                                            \
    trust_bytes *c_ = NULL;                                                                            \
    trust_status s_ = trust_access_token_verify(home, S(token), S(tenant), S(scope), S(audience), now, \
                                                &c_, &e_);                                             \
    CHECK(c_ == NULL);                                                                                 \
    refused(s_, e_, code, __LINE__);                                                                   \
  } while (0)

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  char dir[4096], key[4096];
  snprintf(dir, sizeof dir, "%s/home", base);
  snprintf(key, sizeof key, "%s/root.key", base);
  trust_error *err = NULL;
  CHECK_OK(trust_home_init_key_file(S(dir), S(key), &home, &err), err);
  CHECK_OK(trust_home_create_keyring(home, S("session-tokens"), TRUST_SUITE_AES_256_GCM, &err), err);

  const uint8_t *scopes[2] = {(const uint8_t *)"chat:write", (const uint8_t *)"chat:read"};
  size_t scope_lens[2] = {10, 9};
  trust_bytes *tok = NULL, *claims = NULL;
  CHECK_OK(trust_access_token_issue(home, S("session-tokens"), S("acme"), scopes, scope_lens, 2, S("chat-widget"), 900,
                                    T0, &tok, &err),
           err);
  char token[1024];
  CHECK(trust_bytes_len(tok) < sizeof token);
  memcpy(token, trust_bytes_data(tok), trust_bytes_len(tok) + 1);
  trust_bytes_free(tok);
  tok = NULL;

  CHECK_OK(trust_access_token_verify(home, S(token), S("acme"), S("chat:write"), S("chat-widget"), T0 + 60, &claims,
                                     &err),
           err);
  CHECK(contains(trust_bytes_data(claims), trust_bytes_len(claims), "\"tenant\":\"acme\""));
  CHECK(contains(trust_bytes_data(claims), trust_bytes_len(claims), "\"expires_at\":1700000900"));
  trust_bytes_free(claims);
  CHECK_OK(trust_access_token_verify(home, S(token), S("acme"), S("chat:read"), S("chat-widget"), T0, NULL, &err), err);

  REFUSED(token, "globex", "chat:write", "chat-widget", T0 + 60, "TOKEN_WRONG_TENANT");
  REFUSED(token, "acme", "orders:read", "chat-widget", T0 + 60, "TOKEN_MISSING_SCOPE");
  REFUSED(token, "acme", "chat:write", "admin-panel", T0 + 60, "TOKEN_WRONG_AUDIENCE");
  REFUSED(token, "acme", "chat:write", "", T0 + 60, "TOKEN_WRONG_AUDIENCE");
  REFUSED(token, "acme", "chat:write", "chat-widget", T0 + 3600, "TOKEN_EXPIRED");
  token[strlen(token) - 2] = token[strlen(token) - 2] == 'A' ? 'B' : 'A'; /* another MAC */
  REFUSED(token, "acme", "chat:write", "chat-widget", T0 + 60, "TOKEN_INVALID");
  REFUSED("not a token", "acme", "chat:write", "chat-widget", T0 + 60, "TOKEN_MALFORMED");

  /* Bad requests, unknown keyrings, NULLs. */
  CHECK_STATUS(trust_access_token_issue(home, S("session-tokens"), S("acme"), scopes, scope_lens, 2, NONE, 0, T0, &tok,
                                        &err),
               TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "TOKEN_BAD_REQUEST");
  err = NULL;
  CHECK_STATUS(trust_access_token_issue(home, S("nope"), S("acme"), scopes, scope_lens, 2, NONE, 60, T0, &tok, &err),
               TRUST_KEY_UNAVAILABLE);
  trust_error_free(err);
  err = NULL;
  CHECK_STATUS(trust_access_token_issue(home, S("session-tokens"), S("acme"), scopes, scope_lens, 2, NONE, 60, -1, &tok,
                                        NULL),
               TRUST_INVALID_ARGUMENT);
  CHECK_STATUS(trust_access_token_issue(home, S("session-tokens"), S("acme"), NULL, scope_lens, 2, NONE, 60, T0, &tok,
                                        NULL),
               TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_access_token_verify(NULL, S(token), S("acme"), S("x"), NONE, 0, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK(tok == NULL);
  trust_home_free(home);
  puts("token: ok");
  return 0;
}
