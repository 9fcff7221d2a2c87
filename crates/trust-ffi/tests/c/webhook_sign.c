/*
 * webhook_sign.c: trust_webhook_sign and trust_webhook_signed_*: published vectors (Stripe:
 * stripe-python generate_signature_header; Standard Webhooks: the standardwebhooks libraries'
 * vectors; Shopify OAuth: shopify.dev "authorization code grant"; origins in docs/webhooks.md),
 * every scheme signed and then verified by trust_webhook_verify from the very arrays the signed
 * result hands out, a changed body rejected, and every error path.
 */
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define NONE NULL, 0

static const int64_t T = 1700000000;

static trust_webhook_verifier *make(const char *secret) {
  const uint8_t *secrets[1] = {(const uint8_t *)secret};
  size_t lens[1] = {strlen(secret)};
  trust_webhook_verifier *v = NULL;
  trust_error *err = NULL;
  CHECK_OK(trust_webhook_verifier_new(secrets, lens, 1, TRUST_WEBHOOK_SCHEME_DEFAULT, &v, &err), err);
  return v;
}

/* Signs `body` under `scheme` with one secret; the optional inputs may be NULL. */
static trust_status sign1(const char *scheme, const char *secret, const char *body, const char *url,
                          const char *query, const char *id, const char *shop,
                          trust_webhook_signed **out, trust_error **err) {
  const uint8_t *secrets[1] = {(const uint8_t *)secret};
  size_t lens[1] = {strlen(secret)};
  const char *audience = shop ? "app-key" : NULL;
#define OPT(s) (const uint8_t *)(s), ((s) ? strlen(s) : 0)
  return trust_webhook_sign(S(scheme), secrets, lens, 1, S(body), NONE, OPT(url), OPT(query),
                            OPT(id), OPT(audience), OPT(shop), T, out, err);
#undef OPT
}

/* Verifies what `s` holds as the receiving endpoint would: headers and query straight from it. */
static trust_status verify_signed(const trust_webhook_signed *s, const char *scheme, const char *secret,
                                  const char *body, size_t body_len, const char *url, trust_error **err) {
  const uint8_t *const *names = NULL;
  const size_t *name_lens = NULL;
  const uint8_t *const *values = NULL;
  const size_t *value_lens = NULL;
  size_t n = 99;
  const uint8_t *query = (const uint8_t *)"x";
  size_t query_len = 99;
  trust_error *e = NULL;
  CHECK_OK(trust_webhook_signed_headers(s, &names, &name_lens, &values, &value_lens, &n, &e), e);
  CHECK_OK(trust_webhook_signed_query(s, &query, &query_len, &e), e);
  CHECK((query == NULL) == (query_len == 0));
  trust_webhook_verifier *v = make(secret);
  const char *audience = strcmp(scheme, "shopify-session-token") == 0 ? "app-key" : "";
  trust_status st = trust_webhook_verify(v, S(scheme), (const uint8_t *)body, body_len, names, name_lens,
                                         values, value_lens, n, NONE, (const uint8_t *)url,
                                         url ? strlen(url) : 0, query, query_len, S(audience), T, NULL, err);
  trust_webhook_verifier_free(v);
  return st;
}

static void test_published_vectors(void) {
  trust_webhook_signed *s = NULL;
  trust_error *err = NULL;
  const char *body = "{\"id\":\"evt_test_webhook\",\"object\":\"event\"}";
  CHECK_OK(sign1("stripe", "whsec_test_secret", body, NULL, NULL, NULL, NULL, &s, &err), err);
  const uint8_t *const *names, *const *values;
  const size_t *name_lens, *value_lens;
  size_t n = 0;
  CHECK_OK(trust_webhook_signed_headers(s, &names, &name_lens, &values, &value_lens, &n, &err), err);
  const char *want = "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990";
  CHECK(n == 1);
  CHECK(name_lens[0] == strlen("Stripe-Signature") && memcmp(names[0], "Stripe-Signature", name_lens[0]) == 0);
  CHECK(value_lens[0] == strlen(want) && memcmp(values[0], want, value_lens[0]) == 0);
  trust_webhook_signed_free(s);

  s = NULL;
  const uint8_t *secrets[1] = {(const uint8_t *)"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  size_t lens[1] = {strlen((const char *)secrets[0])};
  CHECK_OK(trust_webhook_sign(S("standard-webhooks"), secrets, lens, 1, S("{\"test\": 2432232314}"), NONE, NONE,
                              NONE, S("msg_p5jXN8AQM9LWM0D4loKWxJek"), NONE, NONE, 1614265330, &s, &err),
           err);
  CHECK_OK(trust_webhook_signed_headers(s, &names, &name_lens, &values, &value_lens, &n, &err), err);
  CHECK(n == 3);
  want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  CHECK(memcmp(names[2], "webhook-signature", name_lens[2]) == 0);
  CHECK(value_lens[2] == strlen(want) && memcmp(values[2], want, value_lens[2]) == 0);
  trust_webhook_signed_free(s);

  s = NULL;
  const char *unsigned_q =
      "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173";
  CHECK_OK(sign1("shopify-oauth", "hush", "", NULL, unsigned_q, NULL, NULL, &s, &err), err);
  const uint8_t *q = NULL;
  size_t q_len = 0;
  CHECK_OK(trust_webhook_signed_query(s, &q, &q_len, &err), err);
  want = "&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf";
  CHECK(q_len == strlen(unsigned_q) + strlen(want));
  CHECK(memcmp(q, unsigned_q, strlen(unsigned_q)) == 0 && memcmp(q + strlen(unsigned_q), want, strlen(want)) == 0);
  CHECK_OK(trust_webhook_signed_headers(s, &names, &name_lens, &values, &value_lens, &n, &err), err);
  CHECK(n == 0);
  trust_webhook_signed_free(s);
}

static void test_every_scheme_round_trips(void) {
  static const char *const schemes[] = {"shopify", "shopify-oauth", "shopify-app-proxy", "shopify-session-token",
                                        "stripe", "hubspot-v1", "hubspot-v2", "hubspot-v3",
                                        "standard-webhooks", "github", "slack"};
  const char *body = "{\"id\":1,\"note\":\"caf\xc3\xa9\"}";
  const char *url = "https://app.example.com/hooks?x=%2Fy";
  const char *query = "code=a&shop=s.myshopify.com&timestamp=1700000000";
  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
    const char *scheme = schemes[i];
    const char *secret = strcmp(scheme, "standard-webhooks") == 0 ? "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
                                                                   : "hush-current";
    trust_webhook_signed *s = NULL;
    trust_error *err = NULL;
    CHECK_OK(sign1(scheme, secret, body, url, query, "delivery-1", "s.myshopify.com", &s, &err), err);
    trust_status st = verify_signed(s, scheme, secret, body, strlen(body), url, &err);
    if (st != TRUST_OK) {
      fprintf(stderr, "%s: %s %s\n", scheme, trust_status_str(st), err ? trust_error_message(err) : "");
      exit(1);
    }
    /* The body is what these schemes sign: one byte less is rejected. */
    if (strncmp(scheme, "shopify-", 8) != 0) {
      trust_error *rej = NULL;
      CHECK_STATUS(verify_signed(s, scheme, secret, body, strlen(body) - 1, url, &rej), TRUST_VERIFICATION_FAILED);
      EXPECT_ERROR(rej, TRUST_VERIFICATION_FAILED, "SIGNATURE_INVALID");
    }
    /* Another secret does not verify it. */
    trust_error *rej = NULL;
    const char *other = strcmp(scheme, "standard-webhooks") == 0 ? "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD" : "other";
    CHECK_STATUS(verify_signed(s, scheme, other, body, strlen(body), url, &rej), TRUST_VERIFICATION_FAILED);
    EXPECT_ERROR(rej, TRUST_VERIFICATION_FAILED, "SIGNATURE_INVALID");
    trust_webhook_signed_free(s);
  }
}

static void test_errors(void) {
  trust_webhook_signed *s = NULL;
  trust_error *err = NULL;
  const uint8_t *secrets[1] = {(const uint8_t *)"k"};
  size_t lens[1] = {1};

  /* Missing out-parameter, unknown scheme, no secret. */
  CHECK_STATUS(trust_webhook_sign(S("github"), secrets, lens, 1, S("{}"), NONE, NONE, NONE, NONE, NONE, NONE, T, NULL,
                                  &err),
               TRUST_NULL_ARGUMENT);
  EXPECT_ERROR(err, TRUST_NULL_ARGUMENT, "NULL_ARGUMENT");
  err = NULL;
  CHECK_STATUS(sign1("Stripe", "k", "{}", NULL, NULL, NULL, NULL, &s, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "WEBHOOK_CONFIG");
  err = NULL;
  CHECK_STATUS(trust_webhook_sign(S("github"), NULL, NULL, 0, S("{}"), NONE, NONE, NONE, NONE, NONE, NONE, T, &s,
                                  &err),
               TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "WEBHOOK_CONFIG");
  /* What the scheme signs but was not given: URL, query, API key and shop. */
  err = NULL;
  CHECK_STATUS(sign1("hubspot-v3", "k", "{}", NULL, NULL, NULL, NULL, &s, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "WEBHOOK_CONFIG");
  err = NULL;
  CHECK_STATUS(sign1("shopify-app-proxy", "k", "", NULL, NULL, NULL, NULL, &s, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "WEBHOOK_CONFIG");
  err = NULL;
  CHECK_STATUS(sign1("shopify-session-token", "k", "", NULL, NULL, NULL, NULL, &s, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "WEBHOOK_CONFIG");
  /* Standard Webhooks secrets are whsec_ strings. */
  err = NULL;
  CHECK_STATUS(sign1("standard-webhooks", "k", "{}", NULL, NULL, NULL, NULL, &s, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "WEBHOOK_CONFIG");
  /* A query that is signed already, a shop outside myshopify.com, an id a verifier refuses. */
  err = NULL;
  CHECK_STATUS(sign1("shopify-oauth", "k", "", NULL, "a=1&hmac=00", NULL, NULL, &s, &err), TRUST_VERIFICATION_FAILED);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "MALFORMED");
  err = NULL;
  CHECK_STATUS(sign1("shopify-session-token", "k", "", NULL, NULL, NULL, "evil.example.com", &s, &err),
               TRUST_VERIFICATION_FAILED);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "MALFORMED");
  err = NULL;
  CHECK_STATUS(sign1("github", "k", "{}", NULL, NULL, "two words", NULL, &s, &err), TRUST_VERIFICATION_FAILED);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "MALFORMED");
  /* Text arguments are UTF-8. */
  err = NULL;
  CHECK_STATUS(sign1("hubspot-v2", "k", "{}", "https://h.example/\xff", NULL, NULL, NULL, &s, &err),
               TRUST_INVALID_UTF8);
  EXPECT_ERROR(err, TRUST_INVALID_UTF8, "INVALID_UTF8");
  /* Outputs are written only on success. */
  CHECK(s == NULL);

  /* The accessors NULL-check their handle and outputs. */
  const uint8_t *const *names, *const *values;
  const size_t *name_lens, *value_lens;
  size_t n;
  err = NULL;
  CHECK_STATUS(trust_webhook_signed_headers(NULL, &names, &name_lens, &values, &value_lens, &n, &err),
               TRUST_NULL_ARGUMENT);
  EXPECT_ERROR(err, TRUST_NULL_ARGUMENT, "NULL_ARGUMENT");
  CHECK_OK(sign1("github", "k", "{}", NULL, NULL, NULL, NULL, &s, &err), err);
  err = NULL;
  CHECK_STATUS(trust_webhook_signed_headers(s, &names, &name_lens, &values, &value_lens, NULL, &err),
               TRUST_NULL_ARGUMENT);
  EXPECT_ERROR(err, TRUST_NULL_ARGUMENT, "NULL_ARGUMENT");
  const uint8_t *q = (const uint8_t *)"x";
  size_t q_len = 5;
  CHECK_OK(trust_webhook_signed_query(s, &q, &q_len, &err), err);
  CHECK(q == NULL && q_len == 0);
  err = NULL;
  CHECK_STATUS(trust_webhook_signed_query(s, NULL, &q_len, &err), TRUST_NULL_ARGUMENT);
  EXPECT_ERROR(err, TRUST_NULL_ARGUMENT, "NULL_ARGUMENT");
  trust_webhook_signed_free(s);
  trust_webhook_signed_free(NULL);
}

int main(void) {
  test_published_vectors();
  test_every_scheme_round_trips();
  test_errors();
  puts("webhook_sign: ok");
  return 0;
}
