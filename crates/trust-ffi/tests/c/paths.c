/*
 * paths.c: an empty path is TRUST_INVALID_ARGUMENT (code EMPTY_PATH) for every function that
 * takes one, and nothing is created in the working directory (a zero-length path used to make
 * trust_home_init_key_file create a home where the process ran).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <sys/stat.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)
#define EMPTY (const uint8_t *)"", 0

/* Number of entries in the working directory other than . and .. */
static int cwd_entries(void) {
  DIR *d = opendir(".");
  CHECK(d != NULL);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  }
  closedir(d);
  return n;
}

#define EXPECT_EMPTY_PATH(call)                                                  \
  do {                                                                           \
    trust_error *e_ = NULL;                                                      \
    CHECK_STATUS((call), TRUST_INVALID_ARGUMENT);                                \
    expect_error(e_, TRUST_INVALID_ARGUMENT, "EMPTY_PATH", __FILE__, __LINE__);  \
  } while (0)

int main(void) {
  const char *base = getenv("TRUST_TEST_DIR");
  CHECK(base != NULL);
  char cwd[4096], key[4096], home_dir[4096], log_dir[4096];
  snprintf(cwd, sizeof cwd, "%s/cwd", base);
  snprintf(key, sizeof key, "%s/root.key", base);
  snprintf(home_dir, sizeof home_dir, "%s/home", base);
  snprintf(log_dir, sizeof log_dir, "%s/log", base);
  CHECK(mkdir(cwd, 0700) == 0);
  CHECK(chdir(cwd) == 0);

  trust_home *home = NULL;
  trust_audit_log *log = NULL;
  trust_subjects *subjects = NULL;
  trust_bytes *out = NULL;

  /* Homes: the directory, and the key file where one is taken. */
  EXPECT_EMPTY_PATH(trust_home_init_key_file(EMPTY, S(key), &home, &e_));
  EXPECT_EMPTY_PATH(trust_home_init_key_file(S(home_dir), EMPTY, &home, &e_));
  EXPECT_EMPTY_PATH(trust_home_init_key_file(NULL, 0, NULL, 0, &home, &e_));
  EXPECT_EMPTY_PATH(trust_home_init_passphrase(EMPTY, S("correct horse"), 8, 1, 1, &home, &e_));
  EXPECT_EMPTY_PATH(trust_home_open_key_file(EMPTY, EMPTY, &home, &e_));
  EXPECT_EMPTY_PATH(trust_home_open_passphrase(EMPTY, S("correct horse"), &home, &e_));
  CHECK(home == NULL);

  /* Audit logs. */
  EXPECT_EMPTY_PATH(trust_audit_log_init(EMPTY, S("example.com/log"), &out, &e_));
  EXPECT_EMPTY_PATH(trust_audit_log_open(EMPTY, &log, &e_));
  EXPECT_EMPTY_PATH(trust_audit_log_verify(EMPTY, S("vkey"), &out, &e_));
  CHECK(out == NULL && log == NULL);

  /* Subject keys: a real home, then an empty store directory or signing key file. */
  trust_error *err = NULL;
  CHECK_OK(trust_home_init_key_file(S(home_dir), S(key), &home, &err), err);
  char signing[4096];
  snprintf(signing, sizeof signing, "%s/signing.key", base);
  EXPECT_EMPTY_PATH(trust_subjects_new(home, EMPTY, S(signing), &subjects, &e_));
  EXPECT_EMPTY_PATH(trust_subjects_new(home, S(home_dir), EMPTY, &subjects, &e_));
  CHECK(subjects == NULL);
  trust_home_free(home);

  /* Opening with an empty key file still means "the recorded one" (documented), and works. */
  home = NULL;
  CHECK_OK(trust_home_open_key_file(S(home_dir), EMPTY, &home, &err), err);
  trust_home_free(home);

  /* Nothing was created where the process runs. */
  CHECK(cwd_entries() == 0);
  printf("paths: ok\n");
  return 0;
}
