/*
 * vault.c: trust_vault_*: put/get with readers and purpose, refused readers, versions and
 * rotation, listing without values, deletion, and the OAuth refresh by compare-and-swap (two
 * workers refreshing from the same version: one stores, the other gets the winner's token).
 */
#include <stdint.h>
#include <time.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)

static trust_home *home;
static trust_audit_log *audit;

static void setup(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  char dir[4096], key[4096], log[4096];
  snprintf(dir, sizeof dir, "%s/home", base);
  snprintf(key, sizeof key, "%s/root.key", base);
  snprintf(log, sizeof log, "%s/audit", base);
  trust_error *err = NULL;
  CHECK_OK(trust_home_init_key_file(S(dir), S(key), &home, &err), err);
  trust_bytes *vkey = NULL;
  CHECK_OK(trust_audit_log_init(S(log), S("example.com/vault-test"), &vkey, &err), err);
  trust_bytes_free(vkey);
  CHECK_OK(trust_audit_log_open(S(log), &audit, &err), err);
}

static void test_put_get_readers(trust_vault *vault) {
  trust_error *err = NULL;
  uint32_t version = 0;
  const uint8_t *readers[2] = {(const uint8_t *)"sync-worker", (const uint8_t *)"billing"};
  size_t reader_lens[2] = {11, 7};
  CHECK_OK(trust_vault_put(vault, S("sync-worker"), S("acme/shopify"), S("shpat_0123456789abcdef"),
                           TRUST_VAULT_KIND_API_KEY, readers, reader_lens, 2, 0, NULL, 0, &version, &err),
           err);
  CHECK(version == 1);

  trust_bytes *value = NULL, *refresh = (trust_bytes *)1;
  uint32_t got = 0;
  CHECK_OK(trust_vault_get(vault, S("billing"), S("acme/shopify"), S("nightly order sync"), 0, &value, &got, &refresh,
                           &err),
           err);
  CHECK(bytes_eq_str(value, "shpat_0123456789abcdef") && got == 1 && refresh == NULL);
  trust_bytes_free(value);
  value = NULL;

  /* Someone not on the list is refused (and the refusal is audited); nothing is written. */
  CHECK_STATUS(trust_vault_get(vault, S("intern"), S("acme/shopify"), S("curious"), 0, &value, NULL, NULL, &err),
               TRUST_REFUSED);
  EXPECT_ERROR(err, TRUST_REFUSED, "SECRET_NOT_READER");
  err = NULL;
  CHECK(value == NULL);
  /* Nor may they replace the value. */
  CHECK_STATUS(trust_vault_put(vault, S("intern"), S("acme/shopify"), S("mine now"), TRUST_VAULT_KIND_KEEP, NULL, NULL,
                               0, 0, NULL, 0, &version, &err),
               TRUST_REFUSED);
  EXPECT_ERROR(err, TRUST_REFUSED, "SECRET_NOT_READER");
  err = NULL;

  /* Rotation adds version 2; version 1 stays readable by number. */
  CHECK_OK(trust_vault_rotate(vault, S("sync-worker"), S("acme/shopify"), S("shpat_fedcba9876543210"),
                              TRUST_VAULT_KIND_KEEP, NULL, NULL, 0, 0, NULL, 0, &version, &err),
           err);
  CHECK(version == 2);
  CHECK_OK(trust_vault_get(vault, S("sync-worker"), S("acme/shopify"), S("audit check"), 1, &value, &got, NULL, &err),
           err);
  CHECK(bytes_eq_str(value, "shpat_0123456789abcdef") && got == 1);
  trust_bytes_free(value);
  CHECK_STATUS(trust_vault_get(vault, S("sync-worker"), S("acme/shopify"), S("audit check"), 9, &value, &got, NULL,
                               &err),
               TRUST_KEY_UNAVAILABLE);
  trust_error_free(err);
  err = NULL;
  /* Rotating a secret that does not exist. */
  CHECK_STATUS(trust_vault_rotate(vault, S("sync-worker"), S("acme/nothing"), S("v"), TRUST_VAULT_KIND_KEEP, NULL,
                                  NULL, 0, 0, NULL, 0, &version, &err),
               TRUST_KEY_UNAVAILABLE);
  EXPECT_ERROR(err, TRUST_KEY_UNAVAILABLE, "SECRET_NOT_FOUND");
  err = NULL;

  /* The listing has names, versions and readers, never values. */
  trust_bytes *json = NULL;
  CHECK_OK(trust_vault_list(vault, S("acme"), &json, &err), err);
  CHECK(contains(trust_bytes_data(json), trust_bytes_len(json), "\"name\":\"acme/shopify\""));
  CHECK(contains(trust_bytes_data(json), trust_bytes_len(json), "\"versions\":[1,2]"));
  CHECK(contains(trust_bytes_data(json), trust_bytes_len(json), "\"billing\""));
  CHECK(!contains(trust_bytes_data(json), trust_bytes_len(json), "shpat_"));
  trust_bytes_free(json);
  CHECK_OK(trust_vault_list(vault, NULL, 0, &json, &err), err);
  CHECK(contains(trust_bytes_data(json), trust_bytes_len(json), "acme/shopify"));
  trust_bytes_free(json);

  /* Deleted: reads are KEY_UNAVAILABLE; deleting again too. */
  CHECK_OK(trust_vault_delete(vault, S("sync-worker"), S("acme/shopify"), &err), err);
  CHECK_STATUS(trust_vault_get(vault, S("sync-worker"), S("acme/shopify"), S("after"), 0, &value, NULL, NULL, &err),
               TRUST_KEY_UNAVAILABLE);
  EXPECT_ERROR(err, TRUST_KEY_UNAVAILABLE, "SECRET_DELETED");
  err = NULL;
  CHECK_STATUS(trust_vault_delete(vault, S("sync-worker"), S("acme/shopify"), &err), TRUST_KEY_UNAVAILABLE);
  trust_error_free(err);
}

static void test_refresh(trust_vault *vault) {
  trust_error *err = NULL;
  uint32_t version = 0;
  time_t now = time(NULL);
  /* An OAuth token expiring in 100 s, with a refresh token. */
  CHECK_OK(trust_vault_put(vault, S("sync-worker"), S("acme/hubspot"), S("access-1"), TRUST_VAULT_KIND_OAUTH, NULL,
                           NULL, 0, (int64_t)now + 100, S("refresh-1"), &version, &err),
           err);
  bool needs = false;
  CHECK_OK(trust_vault_needs_refresh(vault, S("acme/hubspot"), (int64_t)now, 300, &needs, &err), err);
  CHECK(needs);
  CHECK_OK(trust_vault_needs_refresh(vault, S("acme/hubspot"), (int64_t)now, 10, &needs, &err), err);
  CHECK(!needs);
  CHECK_OK(trust_vault_needs_refresh(vault, S("acme/hubspot"), 0, 300, &needs, &err), err);
  CHECK(needs);

  /* Both workers read version 1 and its refresh token, both call the provider... */
  trust_bytes *value = NULL, *refresh = NULL;
  uint32_t read_version = 0;
  CHECK_OK(trust_vault_get(vault, S("sync-worker"), S("acme/hubspot"), S("refresh"), 0, &value, &read_version,
                           &refresh, &err),
           err);
  CHECK(read_version == 1 && bytes_eq_str(value, "access-1") && bytes_eq_str(refresh, "refresh-1"));
  trust_bytes_free(value);
  trust_bytes_free(refresh);

  /* ...worker A stores first, */
  uint32_t outcome = 0, got = 0;
  CHECK_OK(trust_vault_refresh(vault, S("sync-worker"), S("acme/hubspot"), S("refresh"), 300, read_version,
                               S("access-A"), S("refresh-A"), (int64_t)now + 3600, &value, &got, &outcome, &err),
           err);
  CHECK(outcome == TRUST_VAULT_REFRESHED && got == 2 && bytes_eq_str(value, "access-A"));
  trust_bytes_free(value);
  /* worker B, still holding version 1, gets A's token and its own is discarded. */
  CHECK_OK(trust_vault_refresh(vault, S("sync-worker"), S("acme/hubspot"), S("refresh"), 300, read_version,
                               S("access-B"), S("refresh-B"), (int64_t)now + 3600, &value, &got, &outcome, &err),
           err);
  CHECK(outcome == TRUST_VAULT_TOOK_WINNERS && got == 2 && bytes_eq_str(value, "access-A"));
  trust_bytes_free(value);
  /* Now fresh: nothing stored, the stored token returned. */
  CHECK_OK(trust_vault_refresh(vault, S("sync-worker"), S("acme/hubspot"), S("refresh"), 300, 2, S("access-C"),
                               NULL, 0, 0, &value, &got, &outcome, &err),
           err);
  CHECK(outcome == TRUST_VAULT_STILL_FRESH && got == 2 && bytes_eq_str(value, "access-A"));
  trust_bytes_free(value);
  /* The refresh token rode along with A's version. */
  CHECK_OK(trust_vault_get(vault, S("sync-worker"), S("acme/hubspot"), S("check"), 0, &value, &got, &refresh, &err),
           err);
  CHECK(bytes_eq_str(refresh, "refresh-A"));
  trust_bytes_free(value);
  trust_bytes_free(refresh);
}

static void test_argument_errors(trust_vault *vault) {
  trust_error *err = NULL;
  uint32_t version = 0;
  trust_bytes *value = NULL;
  CHECK_STATUS(trust_vault_put(vault, S("a"), S("no-slash"), S("v"), 0, NULL, NULL, 0, 0, NULL, 0, &version, &err),
               TRUST_INVALID_ARGUMENT);
  trust_error_free(err);
  err = NULL;
  CHECK_STATUS(trust_vault_put(vault, S("a"), S("t/n"), S("v"), 7, NULL, NULL, 0, 0, NULL, 0, &version, &err),
               TRUST_INVALID_ARGUMENT);
  trust_error_free(err);
  CHECK_STATUS(trust_vault_put(vault, S("a"), S("t/n"), S("v"), 0, NULL, NULL, 0, -5, NULL, 0, &version, NULL),
               TRUST_INVALID_ARGUMENT);
  CHECK_STATUS(trust_vault_put(NULL, S("a"), S("t/n"), S("v"), 0, NULL, NULL, 0, 0, NULL, 0, &version, NULL),
               TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_vault_put(vault, S("a"), S("t/n"), S("v"), 0, NULL, NULL, 2, 0, NULL, 0, &version, NULL),
               TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_vault_get(vault, S("a"), S("t/n"), S("p"), 0, NULL, NULL, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_vault_get(vault, S("a"), S("t/none"), S("p"), 0, &value, NULL, NULL, NULL), TRUST_KEY_UNAVAILABLE);
  CHECK(value == NULL);
  trust_vault *v2 = NULL;
  CHECK_STATUS(trust_vault_new(NULL, NULL, 0, NULL, &v2, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_vault_new(home, S("Bad Name"), NULL, &v2, NULL), TRUST_INVALID_ARGUMENT);
  CHECK(v2 == NULL);
}

int main(void) {
  setup();
  trust_error *err = NULL;
  trust_vault *vault = NULL;
  CHECK_OK(trust_vault_new(home, NULL, 0, audit, &vault, &err), err);
  test_put_get_readers(vault);
  test_refresh(vault);
  test_argument_errors(vault);
  trust_vault_free(vault);
  /* Another handle on its own keyring, without an audit log; the home and log can go first. */
  CHECK_OK(trust_vault_new(home, S("vault-2"), NULL, &vault, &err), err);
  trust_home_free(home);
  trust_audit_log_free(audit);
  uint32_t version = 0;
  CHECK_OK(trust_vault_put(vault, S("w"), S("beta/stripe"), S("sk_test_x"), 0, NULL, NULL, 0, 0, NULL, 0, &version,
                           &err),
           err);
  CHECK(version == 1);
  trust_vault_free(vault);
  trust_vault_free(NULL);
  puts("vault: ok");
  return 0;
}
