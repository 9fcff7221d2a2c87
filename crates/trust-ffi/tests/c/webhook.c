/*
 * webhook.c: trust_webhook_* for every scheme, with the providers' published vectors (the same
 * ones trust-core's tests use; origins in docs/webhooks.md):
 *   Shopify webhook (secret "hush", checked with shopify-api-js), Shopify OAuth (shopify.dev
 *   "authorization code grant"), Shopify App Proxy (shopify.dev "Authenticate app proxies"),
 *   Shopify session token (minted with PyJWT, accepted by shopify-api-js), Stripe (stripe-python
 *   generate_signature_header), HubSpot v1/v2/v3 (HubSpot docs and SDK test values), Standard
 *   Webhooks (standardwebhooks libraries), GitHub (docs.github.com "Validating webhook
 *   deliveries"), Slack (api.slack.com "Verifying requests from Slack").
 */
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)

static trust_webhook_verifier *make(const char *secret, const char *previous, uint64_t tolerance) {
  const uint8_t *secrets[2] = {(const uint8_t *)secret, (const uint8_t *)previous};
  size_t lens[2] = {strlen(secret), previous ? strlen(previous) : 0};
  trust_webhook_verifier *v = NULL;
  trust_error *err = NULL;
  CHECK_OK(trust_webhook_verifier_new(secrets, lens, previous ? 2 : 1, tolerance, &v, &err), err);
  CHECK(v != NULL);
  return v;
}

/* Expects a verification failure with `code`. */
static void expect_rejected(trust_status status, trust_error *err, const char *code, int line) {
  if (status != TRUST_VERIFICATION_FAILED) {
    fprintf(stderr, "webhook.c:%d: got %s, expected TRUST_VERIFICATION_FAILED\n", line, trust_status_str(status));
    exit(1);
  }
  expect_error(err, TRUST_VERIFICATION_FAILED, code, __FILE__, line);
}
#define REJECTED(call, code)                       \
  do {                                             \
    trust_error *rej_err_ = NULL;                  \
    trust_status rej_s_ = (call);                  \
    expect_rejected(rej_s_, rej_err_, code, __LINE__); \
  } while (0)
/* `call` must use `&rej_err_` as its error out-parameter. */

static void test_shopify(void) {
  const char *body = "{\"id\":1,\"email\":\"a@b.c\",\"note\":\"caf\xc3\xa9\"}";
  const char *hmac = "y6QjIArjFx3gEoeTLJw77ufusmczpg61ege7jjodI/E=";
  trust_webhook_verifier *v = make("hush", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  trust_error *err = NULL;
  CHECK_OK(trust_webhook_verify_shopify(v, S(hmac), S(body), &err), err);
  /* Header values may carry the optional whitespace HTTP allows. */
  CHECK_OK(trust_webhook_verify_shopify(v, S(" y6QjIArjFx3gEoeTLJw77ufusmczpg61ege7jjodI/E= "), S(body), &err), err);
  /* One byte less of body, a bad signature, a malformed one. */
  REJECTED(trust_webhook_verify_shopify(v, S(hmac), (const uint8_t *)body, strlen(body) - 1, &rej_err_), "SIGNATURE_INVALID");
  REJECTED(trust_webhook_verify_shopify(v, S("W22w4pjlQ09E9AVy4/wwfqglyvVQWxSLSBWdMvtJV4A="), S(body), &rej_err_), "SIGNATURE_INVALID");
  REJECTED(trust_webhook_verify_shopify(v, S("not base64!"), S(body), &rej_err_), "MALFORMED");
  REJECTED(trust_webhook_verify_shopify(v, NULL, 0, S(body), &rej_err_), "MALFORMED");
  trust_webhook_verifier_free(v);

  /* Rotation: the old secret is still accepted while it is in the set. */
  v = make("new-secret", "hush", TRUST_WEBHOOK_SCHEME_DEFAULT);
  CHECK_OK(trust_webhook_verify_shopify(v, S(hmac), S(body), &err), err);
  trust_webhook_verifier_free(v);
  v = make("new-secret", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  REJECTED(trust_webhook_verify_shopify(v, S(hmac), S(body), &rej_err_), "SIGNATURE_INVALID");
  trust_webhook_verifier_free(v);
}

static void test_shopify_queries(void) {
  trust_webhook_verifier *v = make("hush", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  trust_error *err = NULL;
  const char *oauth =
      "code=0907a61c0c8d55e99db179b68161bc00&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
      "&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173";
  CHECK_OK(trust_webhook_verify_shopify_oauth(v, S(oauth), 1337178173, &err), err);
  CHECK_OK(trust_webhook_verify_shopify_oauth(v, S(oauth), 1337178173 + 90, &err), err);
  REJECTED(trust_webhook_verify_shopify_oauth(v, S(oauth), 1337178173 + 91, &rej_err_), "TIMESTAMP_STALE");
  REJECTED(trust_webhook_verify_shopify_oauth(v, S(oauth), 1337178173 - 91, &rej_err_), "TIMESTAMP_FUTURE");

  const char *proxy =
      "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews"
      "&timestamp=1317327555&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb";
  CHECK_OK(trust_webhook_verify_shopify_app_proxy(v, S(proxy), 1317327555, &err), err);
  REJECTED(trust_webhook_verify_shopify_app_proxy(v, S(oauth), 1337178173, &rej_err_), "MALFORMED");
  /* Query strings are text: invalid UTF-8 is an argument error, not a verification failure. */
  CHECK_STATUS(trust_webhook_verify_shopify_oauth(v, (const uint8_t *)"a=\xff", 3, 0, &err), TRUST_INVALID_UTF8);
  EXPECT_ERROR(err, TRUST_INVALID_UTF8, "INVALID_UTF8");
  trust_webhook_verifier_free(v);

  /* An explicit tolerance replaces the scheme default (90 s for queries). */
  v = make("hush", NULL, 1000);
  CHECK_OK(trust_webhook_verify_shopify_oauth(v, S(oauth), 1337178173 + 1000, &err), err);
  REJECTED(trust_webhook_verify_shopify_oauth(v, S(oauth), 1337178173 + 1001, &rej_err_), "TIMESTAMP_STALE");
  trust_webhook_verifier_free(v);
}

static void test_shopify_session_token(void) {
  const char *auth =
      "Bearer "
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL3Nob3AtbmFtZS5teXNob3BpZnkuY29tL2FkbWluIiwiZGVzdCI6Imh0"
      "dHBzOi8vc2hvcC1uYW1lLm15c2hvcGlmeS5jb20iLCJhdWQiOiJhcGkta2V5LTEyMyIsInN1YiI6IjQyIiwiZXhwIjoxNzAwMDAwMDYwLCJuYmYi"
      "OjE3MDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiZjg5MTIxMjktMWFmNi00Y2FkLTljYTMtNzZiMGY3NjIxMDg3Iiwic2lkIjoiYWFh"
      "YWFhYWEtYmJiYi1jY2NjLWRkZGQtZWVlZWVlZWVlZWVlIn0.W-uunE2bT8HzI_hYfRMz07giVA2aUraZGQY5A_0aMRM";
  trust_webhook_verifier *v = make("hush", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  trust_error *err = NULL;
  CHECK_OK(trust_webhook_verify_shopify_session_token(v, S("api-key-123"), S(auth), 1700000030, &err), err);
  /* exp = 1700000060 plus the 10 s default leeway. */
  CHECK_OK(trust_webhook_verify_shopify_session_token(v, S("api-key-123"), S(auth), 1700000070, &err), err);
  REJECTED(trust_webhook_verify_shopify_session_token(v, S("api-key-123"), S(auth), 1700000071, &rej_err_), "TIMESTAMP_STALE");
  REJECTED(trust_webhook_verify_shopify_session_token(v, S("other-app"), S(auth), 1700000030, &rej_err_), "CLAIM_REJECTED");
  REJECTED(trust_webhook_verify_shopify_session_token(v, S("api-key-123"), S("Basic abc"), 1700000030, &rej_err_), "MALFORMED");
  trust_webhook_verifier_free(v);
}

static void test_stripe(void) {
  const char *body = "{\"id\":\"evt_test_webhook\",\"object\":\"event\"}";
  const char *sig = "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990";
  trust_webhook_verifier *v = make("whsec_test_secret", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  trust_error *err = NULL;
  CHECK_OK(trust_webhook_verify_stripe(v, S(sig), S(body), 1700000000, &err), err);
  CHECK_OK(trust_webhook_verify_stripe(v, S(sig), S(body), 1700000300, &err), err);
  REJECTED(trust_webhook_verify_stripe(v, S(sig), S(body), 1700000301, &rej_err_), "TIMESTAMP_STALE");
  REJECTED(trust_webhook_verify_stripe(v, S(sig), S(body), 1699999699, &rej_err_), "TIMESTAMP_FUTURE");
  REJECTED(trust_webhook_verify_stripe(v, S(sig), S("{}"), 1700000000, &rej_err_), "SIGNATURE_INVALID");
  REJECTED(trust_webhook_verify_stripe(v, S("v1=d95c"), S(body), 1700000000, &rej_err_), "MALFORMED");
  trust_webhook_verifier_free(v);

  /* Rolling secret (stripe vector with one v1 per secret). */
  const char *roll_body = "{\"id\":\"evt_1\",\"object\":\"event\"}";
  const char *only_old = "t=1700000000,v1=921476aa6febf6d11353fcee45246000c9edf7b3938ae2d09a2d6ea5cb98d9db";
  v = make("whsec_new_secret", "whsec_old_secret", TRUST_WEBHOOK_SCHEME_DEFAULT);
  CHECK_OK(trust_webhook_verify_stripe(v, S(only_old), S(roll_body), 1700000000, &err), err);
  trust_webhook_verifier_free(v);
}

static void test_hubspot(void) {
  const char *secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
  const char *uri = "https://www.example.com/webhook_uri";
  const char *body = "{\"example_field\":\"example_value\"}";
  trust_webhook_verifier *v = make(secret, NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  trust_error *err = NULL;

  const char *v1_body =
      "[{\"eventId\":1,\"subscriptionId\":12345,\"portalId\":62515,\"occurredAt\":1564113600000,\"subscriptionType\":"
      "\"contact.creation\",\"attemptNumber\":0,\"objectId\":123,\"changeSource\":\"CRM\",\"changeFlag\":\"NEW\","
      "\"appId\":54321}]";
  const char *v1_sig = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de";
  CHECK_OK(trust_webhook_verify_hubspot_v1(v, S(v1_sig), S(v1_body), &err), err);
  REJECTED(trust_webhook_verify_hubspot_v1(v, S(v1_sig), (const uint8_t *)v1_body + 1, strlen(v1_body) - 1, &rej_err_),
           "SIGNATURE_INVALID");

  const char *get = "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e";
  const char *post = "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900";
  CHECK_OK(trust_webhook_verify_hubspot_v2(v, S(get), S("GET"), S(uri), NULL, 0, &err), err);
  CHECK_OK(trust_webhook_verify_hubspot_v2(v, S(post), S("POST"), S(uri), S(body), &err), err);
  REJECTED(trust_webhook_verify_hubspot_v2(v, S(post), S("PUT"), S(uri), S(body), &rej_err_), "SIGNATURE_INVALID");

  const char *v3 = "rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=";
  CHECK_OK(trust_webhook_verify_hubspot_v3(v, S(v3), S("1700000000000"), S("POST"), S(uri), S(body), 1700000000, &err), err);
  CHECK_OK(trust_webhook_verify_hubspot_v3(v, S(v3), S("1700000000000"), S("POST"), S(uri), S(body), 1700000300, &err), err);
  REJECTED(trust_webhook_verify_hubspot_v3(v, S(v3), S("1700000000000"), S("POST"), S(uri), S(body), 1700000301, &rej_err_),
           "TIMESTAMP_STALE");
  REJECTED(trust_webhook_verify_hubspot_v3(v, S(v3), S("1700000000001"), S("POST"), S(uri), S(body), 1700000000, &rej_err_),
           "SIGNATURE_INVALID");
  REJECTED(trust_webhook_verify_hubspot_v3(v, S(v3), NULL, 0, S("POST"), S(uri), S(body), 1700000000, &rej_err_), "MALFORMED");
  trust_webhook_verifier_free(v);
}

static void test_standard_github_slack(void) {
  trust_error *err = NULL;
  trust_webhook_verifier *v = make("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  const char *id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const char *body = "{\"test\": 2432232314}";
  const char *sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  CHECK_OK(trust_webhook_verify_standard(v, S(id), S("1614265330"), S(sig), S(body), 1614265330, &err), err);
  REJECTED(trust_webhook_verify_standard(v, S(id), S("1614265330"), S(sig), S(body), 1614265631, &rej_err_), "TIMESTAMP_STALE");
  REJECTED(trust_webhook_verify_standard(v, S("msg_other"), S("1614265330"), S(sig), S(body), 1614265330, &rej_err_),
           "SIGNATURE_INVALID");
  trust_webhook_verifier_free(v);

  /* Standard Webhooks needs whsec_ secrets: any other set is a configuration error for it. */
  v = make("hush!", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  CHECK_STATUS(trust_webhook_verify_standard(v, S(id), S("1614265330"), S(sig), S(body), 1614265330, &err),
               TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "WEBHOOK_CONFIG");
  err = NULL;
  trust_webhook_verifier_free(v);

  v = make("It's a Secret to Everybody", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  const char *gh = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  CHECK_OK(trust_webhook_verify_github(v, S(gh), S("Hello, World!"), &err), err);
  REJECTED(trust_webhook_verify_github(v, S(gh), S("Hello, World?"), &rej_err_), "SIGNATURE_INVALID");
  REJECTED(trust_webhook_verify_github(v, S("sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"), S("Hello, World!"), &rej_err_),
           "MALFORMED");
  trust_webhook_verifier_free(v);

  v = make("8f742231b10e8888abcd99yyyzzz85a5", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  const char *slack_body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar"
      "&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com"
      "%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
      "803a0bc887a14d10d2c447fce8b6703c";
  const char *slack_sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
  CHECK_OK(trust_webhook_verify_slack(v, S(slack_sig), S("1531420618"), S(slack_body), 1531420618, &err), err);
  REJECTED(trust_webhook_verify_slack(v, S(slack_sig), S("1531420618"), S(slack_body), 1531420919, &rej_err_),
           "TIMESTAMP_STALE");
  REJECTED(trust_webhook_verify_slack(v, S(slack_sig), S("1531420619"), S(slack_body), 1531420618, &rej_err_),
           "SIGNATURE_INVALID");
  trust_webhook_verifier_free(v);
}

static void test_argument_errors(void) {
  trust_webhook_verifier *v = NULL;
  trust_error *err = NULL;
  const uint8_t *secrets[9];
  size_t lens[9];
  for (int i = 0; i < 9; i++) {
    secrets[i] = (const uint8_t *)"secret";
    lens[i] = 6;
  }
  CHECK(trust_webhook_max_secrets() == TRUST_WEBHOOK_MAX_SECRETS);
  /* No secret, too many, an empty one: configuration errors; nothing written. */
  CHECK_STATUS(trust_webhook_verifier_new(NULL, NULL, 0, TRUST_WEBHOOK_SCHEME_DEFAULT, &v, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "WEBHOOK_CONFIG");
  err = NULL;
  CHECK_STATUS(trust_webhook_verifier_new(secrets, lens, TRUST_WEBHOOK_MAX_SECRETS + 1, 0, &v, NULL), TRUST_INVALID_ARGUMENT);
  lens[1] = 0;
  CHECK_STATUS(trust_webhook_verifier_new(secrets, lens, 2, 0, &v, NULL), TRUST_INVALID_ARGUMENT);
  CHECK(v == NULL);
  /* NULL arrays, NULL output. */
  CHECK_STATUS(trust_webhook_verifier_new(NULL, lens, 1, 0, &v, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verifier_new(secrets, NULL, 1, 0, &v, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verifier_new(secrets, lens, 1, 0, NULL, NULL), TRUST_NULL_ARGUMENT);

  /* Every verify function checks the handle and its data pointers. */
  CHECK_STATUS(trust_webhook_verify_shopify(NULL, S("x"), S("b"), &err), TRUST_NULL_ARGUMENT);
  EXPECT_ERROR(err, TRUST_NULL_ARGUMENT, "NULL_ARGUMENT");
  CHECK_STATUS(trust_webhook_verify_shopify_oauth(NULL, S("a=b"), 0, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verify_shopify_app_proxy(NULL, S("a=b"), 0, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verify_shopify_session_token(NULL, S("k"), S("Bearer x"), 0, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verify_stripe(NULL, S("t=1,v1=00"), S("b"), 0, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verify_hubspot_v1(NULL, S("00"), S("b"), NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verify_hubspot_v2(NULL, S("00"), S("GET"), S("https://x"), S("b"), NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verify_hubspot_v3(NULL, S("00"), S("1"), S("GET"), S("https://x"), S("b"), 0, NULL),
               TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verify_standard(NULL, S("id"), S("1"), S("v1,x"), S("b"), 0, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verify_github(NULL, S("sha256=00"), S("b"), NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verify_slack(NULL, S("v0=00"), S("1"), S("b"), 0, NULL), TRUST_NULL_ARGUMENT);

  v = make("hush", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  CHECK_STATUS(trust_webhook_verify_shopify(v, S("x"), NULL, 3, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verify_stripe(v, NULL, 9, S("b"), 0, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_webhook_verify_hubspot_v2(v, S("00"), NULL, 3, S("https://x"), S("b"), NULL), TRUST_NULL_ARGUMENT);
  trust_webhook_verifier_free(v);

  trust_webhook_verifier_free(NULL);
  trust_webhook_verifier_free(NULL);
}

/* The one dispatcher: scheme by name, headers as name/value arrays (GitHub's published vector,
 * then Standard Webhooks with its timestamp). */
static void test_dispatcher(void) {
  trust_error *err = NULL;
  trust_bytes *result = NULL;
  trust_webhook_verifier *v = make("It's a Secret to Everybody", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  const char *gh = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  const uint8_t *names[2] = {(const uint8_t *)"Content-Type", (const uint8_t *)"x-hub-signature-256"};
  size_t name_lens[2] = {12, 19};
  const uint8_t *values[2] = {(const uint8_t *)"application/json", (const uint8_t *)gh};
  size_t value_lens[2] = {16, strlen(gh)};
  CHECK_OK(trust_webhook_verify(v, S("github"), S("Hello, World!"), names, name_lens, values, value_lens, 2,
                                NULL, 0, NULL, 0, NULL, 0, NULL, 0, 1700000000, &result, &err),
           err);
  CHECK(contains(trust_bytes_data(result), trust_bytes_len(result), "\"scheme\":\"github\""));
  CHECK(contains(trust_bytes_data(result), trust_bytes_len(result), "\"secret_index\":0"));
  trust_bytes_free(result);
  result = NULL;
  /* Result is optional; a changed body, an unknown scheme, a missing header. */
  CHECK_OK(trust_webhook_verify(v, S("github"), S("Hello, World!"), names, name_lens, values, value_lens, 2,
                                NULL, 0, NULL, 0, NULL, 0, NULL, 0, 1700000000, NULL, &err),
           err);
  REJECTED(trust_webhook_verify(v, S("github"), S("Hello, World?"), names, name_lens, values, value_lens, 2,
                                NULL, 0, NULL, 0, NULL, 0, NULL, 0, 1700000000, &result, &rej_err_),
           "SIGNATURE_INVALID");
  CHECK(result == NULL);
  REJECTED(trust_webhook_verify(v, S("github"), S("Hello, World!"), names, name_lens, values, value_lens, 1,
                                NULL, 0, NULL, 0, NULL, 0, NULL, 0, 1700000000, NULL, &rej_err_),
           "MALFORMED");
  CHECK_STATUS(trust_webhook_verify(v, S("gitlab"), S("Hello, World!"), names, name_lens, values, value_lens, 2,
                                    NULL, 0, NULL, 0, NULL, 0, NULL, 0, 1700000000, NULL, &err),
               TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "WEBHOOK_CONFIG");
  err = NULL;
  /* HubSpot v3 signs the URL: without one it is a configuration error. */
  CHECK_STATUS(trust_webhook_verify(v, S("hubspot-v3"), S("{}"), NULL, 0, NULL, 0, 0, S("POST"), NULL, 0, NULL, 0,
                                    NULL, 0, 1700000000, NULL, &err),
               TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "WEBHOOK_CONFIG");
  err = NULL;
  /* NULL arrays with a count. */
  CHECK_STATUS(trust_webhook_verify(v, S("github"), S("x"), NULL, name_lens, values, value_lens, 2, NULL, 0, NULL, 0,
                                    NULL, 0, NULL, 0, 0, NULL, NULL),
               TRUST_NULL_ARGUMENT);
  trust_webhook_verifier_free(v);

  v = make("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", NULL, TRUST_WEBHOOK_SCHEME_DEFAULT);
  const uint8_t *sn[3] = {(const uint8_t *)"webhook-id", (const uint8_t *)"webhook-timestamp",
                          (const uint8_t *)"webhook-signature"};
  size_t snl[3] = {10, 17, 17};
  const char *sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  const uint8_t *sv[3] = {(const uint8_t *)"msg_p5jXN8AQM9LWM0D4loKWxJek", (const uint8_t *)"1614265330",
                          (const uint8_t *)sig};
  size_t svl[3] = {28, 10, strlen(sig)};
  CHECK_OK(trust_webhook_verify(v, S("standard-webhooks"), S("{\"test\": 2432232314}"), sn, snl, sv, svl, 3, NULL, 0,
                                NULL, 0, NULL, 0, NULL, 0, 1614265330, &result, &err),
           err);
  CHECK(contains(trust_bytes_data(result), trust_bytes_len(result), "\"delivery_id\":\"msg_p5jXN8AQM9LWM0D4loKWxJek\""));
  trust_bytes_free(result);
  REJECTED(trust_webhook_verify(v, S("standard-webhooks"), S("{\"test\": 2432232314}"), sn, snl, sv, svl, 3, NULL, 0,
                                NULL, 0, NULL, 0, NULL, 0, 1614265631, NULL, &rej_err_),
           "TIMESTAMP_STALE");
  trust_webhook_verifier_free(v);
}

int main(void) {
  test_dispatcher();
  test_shopify();
  test_shopify_queries();
  test_shopify_session_token();
  test_stripe();
  test_hubspot();
  test_standard_github_slack();
  test_argument_errors();
  puts("webhook: ok");
  return 0;
}
