/*
 * stream.c: trust_home_encrypt_file / trust_home_decrypt_file: a multi-chunk file and an empty
 * one round trip; a wrong context, a truncated, a tampered file are refused and leave the
 * destination exactly as it was; missing inputs, directories, empty paths and NULLs.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define NONE NULL, 0

static void expect(trust_status got, trust_error *err, trust_status status, const char *code, int line) {
  if (got != status) {
    fprintf(stderr, "stream.c:%d: got %s, expected %s (%s: %s)\n", line, trust_status_str(got),
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

enum { BIG = 100 * 1024 + 7 };
static unsigned char buf[BIG + 64], back[BIG + 64];

static size_t read_file(const char *path, unsigned char *out, size_t cap) {
  FILE *f = fopen(path, "rb");
  CHECK(f != NULL);
  size_t n = fread(out, 1, cap, f);
  fclose(f);
  return n;
}

static void write_file(const char *path, const unsigned char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  CHECK(fwrite(data, 1, len, f) == len);
  CHECK(fclose(f) == 0);
}

/* The destination still holds exactly "old". */
static void untouched(const char *path) {
  unsigned char tmp[16];
  CHECK(read_file(path, tmp, sizeof tmp) == 3 && memcmp(tmp, "old", 3) == 0);
}

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  char dir[4096], key[4096], plain[4096], enc[4096], dec[4096], trunc[4096], empty[4096], none[4096];
  snprintf(dir, sizeof dir, "%s/home", base);
  snprintf(key, sizeof key, "%s/root.key", base);
  snprintf(plain, sizeof plain, "%s/plain.bin", base);
  snprintf(enc, sizeof enc, "%s/plain.bin.enc", base);
  snprintf(dec, sizeof dec, "%s/out.bin", base);
  snprintf(trunc, sizeof trunc, "%s/truncated.enc", base);
  snprintf(empty, sizeof empty, "%s/empty.bin", base);
  snprintf(none, sizeof none, "%s/missing.bin", base);
  trust_error *err = NULL;
  trust_home *home = NULL;
  CHECK_OK(trust_home_init_key_file(S(dir), S(key), &home, &err), err);
  CHECK_OK(trust_home_create_keyring(home, S("files"), TRUST_SUITE_AES_256_GCM, &err), err);
  trust_context *ctx = NULL, *other = NULL;
  CHECK_OK(trust_context_new(&ctx, &err), err);
  CHECK_OK(trust_context_add(ctx, S("tenant"), S("acme"), &err), err);
  CHECK_OK(trust_context_new(&other, &err), err);
  CHECK_OK(trust_context_add(other, S("tenant"), S("globex"), &err), err);

  for (size_t i = 0; i < BIG; i++) buf[i] = (unsigned char)(i * 31 + 7);
  write_file(plain, buf, BIG);
  uint64_t n = 0;
  CHECK_OK(trust_home_encrypt_file(home, S("files"), ctx, S(plain), S(enc), &n, &err), err);
  CHECK(n == BIG);
  struct stat st;
  CHECK(stat(enc, &st) == 0 && (size_t)st.st_size > BIG && (st.st_mode & 077) == 0);
  n = 0;
  CHECK_OK(trust_home_decrypt_file(home, ctx, S(enc), S(dec), &n, &err), err);
  CHECK(n == BIG);
  CHECK(read_file(dec, back, sizeof back) == BIG && memcmp(back, buf, BIG) == 0);
  /* An empty file; NULL byte counts are allowed. */
  write_file(empty, buf, 0);
  CHECK_OK(trust_home_encrypt_file(home, S("files"), ctx, S(empty), S(trunc), NULL, &err), err);
  CHECK_OK(trust_home_decrypt_file(home, ctx, S(trunc), S(dec), NULL, &err), err);
  CHECK(read_file(dec, back, sizeof back) == 0);

  /* Refusals leave the destination as it was. */
  write_file(dec, (const unsigned char *)"old", 3);
  EXPECT(trust_home_decrypt_file(home, other, S(enc), S(dec), &n, &e_), TRUST_VERIFICATION_FAILED, "CONTEXT_MISMATCH");
  untouched(dec);
  size_t elen = read_file(enc, buf, sizeof buf);
  CHECK(elen > 4096);
  write_file(trunc, buf, elen - 100);
  CHECK_STATUS(trust_home_decrypt_file(home, ctx, S(trunc), S(dec), &n, &err), TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  untouched(dec);
  /* Cut at another point (a chunk boundary or not): detected too, the final chunk is marked. */
  write_file(trunc, buf, elen - (elen - 200) % (16 * 1024 + 16));
  CHECK_STATUS(trust_home_decrypt_file(home, ctx, S(trunc), S(dec), &n, &err), TRUST_VERIFICATION_FAILED);
  trust_error_free(err);
  err = NULL;
  untouched(dec);
  buf[elen / 2] ^= 0x01;
  write_file(trunc, buf, elen);
  EXPECT(trust_home_decrypt_file(home, ctx, S(trunc), S(dec), &n, &e_), TRUST_VERIFICATION_FAILED,
         "AUTHENTICATION_FAILED");
  untouched(dec);
  CHECK(n == BIG);

  /* Inputs and destinations that do not work; an unknown keyring creates nothing. */
  EXPECT(trust_home_encrypt_file(home, S("files"), ctx, S(none), S(trunc), NULL, &e_), TRUST_INPUT_UNREADABLE,
         "IO_ERROR");
  EXPECT(trust_home_decrypt_file(home, ctx, S(none), S(dec), NULL, &e_), TRUST_INPUT_UNREADABLE, "IO_ERROR");
  untouched(dec);
  EXPECT(trust_home_encrypt_file(home, S("files"), ctx, S(plain), S(base), NULL, &e_), TRUST_INPUT_UNREADABLE,
         "IO_ERROR");
  char fresh[4200];
  snprintf(fresh, sizeof fresh, "%s/fresh.enc", base);
  CHECK_STATUS(trust_home_encrypt_file(home, S("nope"), ctx, S(plain), S(fresh), NULL, &err), TRUST_KEY_UNAVAILABLE);
  trust_error_free(err);
  err = NULL;
  CHECK(access(fresh, F_OK) != 0);
  EXPECT(trust_home_encrypt_file(home, S("files"), ctx, NONE, S(fresh), NULL, &e_), TRUST_INVALID_ARGUMENT,
         "EMPTY_PATH");
  EXPECT(trust_home_encrypt_file(home, S("files"), ctx, S(plain), NONE, NULL, &e_), TRUST_INVALID_ARGUMENT,
         "EMPTY_PATH");
  EXPECT(trust_home_decrypt_file(home, ctx, NONE, S(dec), NULL, &e_), TRUST_INVALID_ARGUMENT, "EMPTY_PATH");
  EXPECT(trust_home_decrypt_file(home, ctx, S(enc), NONE, NULL, &e_), TRUST_INVALID_ARGUMENT, "EMPTY_PATH");
  CHECK_STATUS(trust_home_encrypt_file(NULL, S("files"), ctx, S(plain), S(fresh), NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_encrypt_file(home, S("files"), NULL, S(plain), S(fresh), NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_decrypt_file(NULL, ctx, S(enc), S(dec), NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_decrypt_file(home, NULL, S(enc), S(dec), NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_home_decrypt_file(home, ctx, NULL, 5, S(dec), NULL, NULL), TRUST_NULL_ARGUMENT);
  untouched(dec);
  CHECK(access(fresh, F_OK) != 0);

  trust_context_free(ctx);
  trust_context_free(other);
  trust_home_free(home);
  puts("stream: ok");
  return 0;
}
