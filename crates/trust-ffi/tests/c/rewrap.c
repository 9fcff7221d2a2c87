/*
 * rewrap.c: trust_rewrapper_*: after a rotation, blobs, tokens and a data subject's message are
 * moved to the new Primary (bodies untouched, plaintext the same), the host confirms what it
 * stored, the census is recorded, and the old version can then be destroyed WITHOUT a forced
 * reason; before that, destroy refuses. Every error path: NULLs, wrong context, garbage,
 * a disabled version, replacements confirmed twice or never issued, a foreign subjects handle.
 */
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define NONE NULL, 0
#define B(b) trust_bytes_data(b), trust_bytes_len(b)

static void expect(trust_status got, trust_error *err, trust_status status, const char *code, int line) {
  if (got != status) {
    fprintf(stderr, "rewrap.c:%d: got %s, expected %s (%s)\n", line, trust_status_str(got), trust_status_str(status),
            err ? trust_error_message(err) : "");
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

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  char dir[4096], key[4096], signing[4096], dir2[4096], key2[4096];
  snprintf(dir, sizeof dir, "%s/home", base);
  snprintf(key, sizeof key, "%s/root.key", base);
  snprintf(signing, sizeof signing, "%s/signing.p8", base);
  snprintf(dir2, sizeof dir2, "%s/home2", base);
  snprintf(key2, sizeof key2, "%s/root2.key", base);
  trust_error *err = NULL;
  trust_home *home = NULL;
  CHECK_OK(trust_home_init_key_file(S(dir), S(key), &home, &err), err);
  CHECK_OK(trust_home_create_keyring(home, S("orders"), TRUST_SUITE_AES_256_GCM, &err), err);
  trust_subjects *subjects = NULL;
  CHECK_OK(trust_subjects_in_home(home, S(signing), &subjects, &err), err);
  trust_context *ctx = NULL, *other = NULL;
  CHECK_OK(trust_context_new(&ctx, &err), err);
  CHECK_OK(trust_context_add(ctx, S("tenant"), S("acme"), &err), err);
  CHECK_OK(trust_context_new(&other, &err), err);
  CHECK_OK(trust_context_add(other, S("tenant"), S("globex"), &err), err);

  /* Version 1 seals two blobs, a token and a subject's message. */
  trust_bytes *b1 = NULL, *b2 = NULL, *t1 = NULL, *s1 = NULL;
  CHECK_OK(trust_home_seal(home, S("orders"), ctx, S("order 1"), &b1, &err), err);
  CHECK_OK(trust_home_seal(home, S("orders"), ctx, S("order 2"), &b2, &err), err);
  CHECK_OK(trust_home_seal_token(home, S("orders"), ctx, S("shpat_rewrap"), &t1, &err), err);
  CHECK_OK(trust_subjects_seal(subjects, S("orders"), S("alice@example.com"), ctx, S("alice's address"), &s1, &err),
           err);
  uint32_t v = 0;
  CHECK_OK(trust_home_rotate(home, S("orders"), true, &v, &err), err);
  CHECK(v == 2);

  trust_rewrapper *rw = NULL;
  CHECK_OK(trust_rewrapper_new(home, subjects, &rw, &err), err);

  /* A blob: a new envelope, the same plaintext; rewrapping that again finds it current. */
  trust_bytes *r1 = NULL, *opened = NULL, *none = (trust_bytes *)1;
  CHECK_OK(trust_rewrapper_blob(rw, B(b1), &r1, &err), err);
  CHECK(r1 != NULL && trust_bytes_len(r1) == trust_bytes_len(b1));
  CHECK(memcmp(trust_bytes_data(r1), trust_bytes_data(b1), trust_bytes_len(b1)) != 0);
  CHECK_OK(trust_home_open(home, ctx, B(r1), &opened, &err), err);
  CHECK(bytes_eq_str(opened, "order 1"));
  trust_bytes_free(opened);
  CHECK_OK(trust_rewrapper_blob(rw, B(r1), &none, &err), err);
  CHECK(none == NULL);
  trust_bytes *info = NULL;
  CHECK_OK(trust_home_keyring_info(home, S("orders"), &info, &err), err);
  trust_bytes_free(info);

  /* A token needs its context. */
  trust_bytes *rt1 = NULL;
  EXPECT(trust_rewrapper_token(rw, other, B(t1), &rt1, &e_), TRUST_VERIFICATION_FAILED, "AUTHENTICATION_FAILED");
  CHECK(rt1 == NULL);
  CHECK_OK(trust_rewrapper_token(rw, ctx, B(t1), &rt1, &err), err);
  CHECK(rt1 != NULL && strncmp((const char *)trust_bytes_data(rt1), "tle1.", 5) == 0);
  CHECK_OK(trust_home_open_token(home, ctx, B(rt1), &opened, &err), err);
  CHECK(bytes_eq_str(opened, "shpat_rewrap"));
  trust_bytes_free(opened);

  /* A subject's message keeps its subject. */
  trust_bytes *rs1 = NULL;
  CHECK_OK(trust_rewrapper_blob(rw, B(s1), &rs1, &err), err);
  CHECK(rs1 != NULL);
  CHECK_OK(trust_subjects_open(subjects, ctx, B(rs1), &opened, &err), err);
  CHECK(bytes_eq_str(opened, "alice's address"));
  trust_bytes_free(opened);

  /* Garbage is refused; nothing is returned. */
  trust_bytes *bad = NULL;
  CHECK_STATUS(trust_rewrapper_blob(rw, S("not an envelope"), &bad, &err), TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  CHECK(bad == NULL);
  uint8_t tampered[4096];
  size_t tlen = trust_bytes_len(b2);
  CHECK(tlen <= sizeof tampered);
  memcpy(tampered, trust_bytes_data(b2), tlen);
  tampered[tlen - 1] ^= 1;
  /* A tampered body is not re-blessed: rewrap leaves the body as it is (no decryption), so
   * the replacement fails to open exactly as the original does. */
  CHECK_OK(trust_rewrapper_blob(rw, tampered, tlen, &bad, &err), err);
  CHECK(bad != NULL);
  CHECK_STATUS(trust_home_open(home, ctx, B(bad), &opened, &err), TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  trust_bytes_free(bad);
  bad = NULL;

  /* The host confirms what it stored; each replacement once, and only those issued. */
  CHECK_OK(trust_rewrapper_stored(rw, B(r1), &err), err);
  EXPECT(trust_rewrapper_stored(rw, B(r1), &e_), TRUST_INVALID_ARGUMENT, "REWRAP_NOT_ISSUED");
  EXPECT(trust_rewrapper_stored(rw, B(b2), &e_), TRUST_INVALID_ARGUMENT, "REWRAP_NOT_ISSUED");
  CHECK_OK(trust_rewrapper_stored(rw, B(rt1), &err), err);
  CHECK_OK(trust_rewrapper_stored(rw, B(rs1), &err), err);

  /* b2 is not moved yet: the old version cannot be destroyed without a reason. While it is
   * retired, rewrapping b2 is refused (its key does not decrypt). */
  uint64_t recorded = 99;
  CHECK_OK(trust_rewrapper_finish(rw, &recorded, &err), err);
  CHECK(recorded == 3);
  CHECK_OK(trust_home_retire(home, S("orders"), 1, &err), err);
  bool destroyed = false;
  EXPECT(trust_home_destroy(home, S("orders"), 1, NONE, &destroyed, NULL, &e_), TRUST_REFUSED, "KEY_STILL_IN_USE");
  trust_bytes *r2 = NULL;
  CHECK_STATUS(trust_rewrapper_blob(rw, B(b2), &r2, &err), TRUST_KEY_UNAVAILABLE);
  trust_error_free(err);
  err = NULL;
  CHECK(r2 == NULL);
  CHECK_OK(trust_home_enable(home, S("orders"), 1, &err), err);

  /* Issued but never confirmed counts for nothing; once stored and recorded, the census covers
   * everything version 1 sealed and it is destroyed without an override. */
  CHECK_OK(trust_rewrapper_blob(rw, B(b2), &r2, &err), err);
  CHECK_OK(trust_rewrapper_finish(rw, &recorded, &err), err);
  CHECK(recorded == 0);
  CHECK_OK(trust_home_retire(home, S("orders"), 1, &err), err);
  EXPECT(trust_home_destroy(home, S("orders"), 1, NONE, &destroyed, NULL, &e_), TRUST_REFUSED, "KEY_STILL_IN_USE");
  CHECK_OK(trust_home_enable(home, S("orders"), 1, &err), err);
  CHECK_OK(trust_rewrapper_stored(rw, B(r2), &err), err);
  CHECK_OK(trust_rewrapper_finish(rw, NULL, &err), err);
  CHECK_OK(trust_home_retire(home, S("orders"), 1, &err), err);
  CHECK_OK(trust_home_destroy(home, S("orders"), 1, NONE, &destroyed, NULL, &err), err);
  CHECK(destroyed);
  /* The moved data still opens; the originals no longer do. */
  CHECK_OK(trust_home_open(home, ctx, B(r2), &opened, &err), err);
  CHECK(bytes_eq_str(opened, "order 2"));
  trust_bytes_free(opened);
  opened = NULL;
  CHECK_STATUS(trust_home_open(home, ctx, B(b2), &opened, &err), TRUST_KEY_UNAVAILABLE);
  trust_error_free(err);
  err = NULL;

  /* A worker (another handle) that sealed under a version holds a block of reserved seals
   * until it gives them back: after rewrap moved its message, destroy still refuses, and
   * clears once the worker released its reservation. */
  CHECK_OK(trust_home_create_keyring(home, S("worker"), TRUST_SUITE_AES_256_GCM, &err), err);
  trust_home *worker = NULL;
  CHECK_OK(trust_home_open_key_file(S(dir), NONE, &worker, &err), err);
  trust_bytes *w1 = NULL, *rw1 = NULL;
  CHECK_OK(trust_home_seal(worker, S("worker"), ctx, S("order 3"), &w1, &err), err);
  CHECK_OK(trust_home_rotate(home, S("worker"), true, &v, &err), err);
  CHECK(v == 2);
  CHECK_OK(trust_rewrapper_blob(rw, trust_bytes_data(w1), trust_bytes_len(w1), &rw1, &err), err);
  CHECK(rw1 != NULL);
  CHECK_OK(trust_rewrapper_stored(rw, trust_bytes_data(rw1), trust_bytes_len(rw1), &err), err);
  CHECK_OK(trust_rewrapper_finish(rw, NULL, &err), err);
  CHECK_OK(trust_home_retire(home, S("worker"), 1, &err), err);
  EXPECT(trust_home_destroy(home, S("worker"), 1, NONE, &destroyed, NULL, &e_), TRUST_REFUSED, "KEY_STILL_IN_USE");
  CHECK_OK(trust_home_release_unused(worker, &err), err);
  CHECK_OK(trust_home_release_unused(worker, &err), err); /* nothing left: a no-op */
  CHECK_OK(trust_home_destroy(home, S("worker"), 1, NONE, &destroyed, NULL, &err), err);
  CHECK(destroyed);
  CHECK_STATUS(trust_home_release_unused(NULL, NULL), TRUST_NULL_ARGUMENT);
  trust_bytes_free(w1);
  trust_bytes_free(rw1);
  trust_home_free(worker);

  /* A subjects handle over another home is refused; NULLs everywhere. */
  trust_home *home2 = NULL;
  trust_subjects *foreign = NULL;
  CHECK_OK(trust_home_init_key_file(S(dir2), S(key2), &home2, &err), err);
  CHECK_OK(trust_subjects_in_home(home2, S(signing), &foreign, &err), err);
  trust_rewrapper *rw2 = NULL;
  EXPECT(trust_rewrapper_new(home, foreign, &rw2, &e_), TRUST_INVALID_ARGUMENT, "INVALID_ARGUMENT");
  CHECK(rw2 == NULL);
  CHECK_OK(trust_rewrapper_new(home, NULL, &rw2, &err), err);
  /* Without the subject layer a subject's message is refused. */
  EXPECT(trust_rewrapper_blob(rw2, B(s1), &bad, &e_), TRUST_INVALID_ARGUMENT, "SUBJECT_MISMATCH");
  CHECK(bad == NULL);
  CHECK_STATUS(trust_rewrapper_new(NULL, NULL, &rw2, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_rewrapper_new(home, NULL, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_rewrapper_blob(NULL, B(b1), &bad, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_rewrapper_blob(rw2, B(b1), NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_rewrapper_blob(rw2, NULL, 3, &bad, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_rewrapper_token(rw2, NULL, B(t1), &bad, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_rewrapper_token(rw2, ctx, B(t1), NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_rewrapper_token(rw2, ctx, S("\xff\xfe"), &bad, NULL), TRUST_INVALID_UTF8);
  CHECK_STATUS(trust_rewrapper_stored(NULL, B(r1), NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_rewrapper_finish(NULL, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK(bad == NULL);

  trust_rewrapper_free(rw2);
  trust_rewrapper_free(rw);
  trust_rewrapper_free(NULL);
  trust_subjects_free(foreign);
  trust_home_free(home2);
  trust_bytes_free(b1);
  trust_bytes_free(b2);
  trust_bytes_free(t1);
  trust_bytes_free(s1);
  trust_bytes_free(r1);
  trust_bytes_free(r2);
  trust_bytes_free(rt1);
  trust_bytes_free(rs1);
  trust_context_free(ctx);
  trust_context_free(other);
  trust_subjects_free(subjects);
  trust_home_free(home);
  puts("rewrap: ok");
  return 0;
}
