/*
 * password.c: trust_password_hash and trust_password_verify: argon2id PHC strings, a bcrypt
 * hash from the crypt_blowfish test vectors (Openwall, wrapper.c: "U*U"), the upgrade of an
 * outdated hash at login, and the errors.
 */
#include <stdint.h>

#include "check.h"

#define S(str) (const uint8_t *)(str), strlen(str)

int main(void) {
  trust_error *err = NULL;
  trust_bytes *phc = NULL, *rehash = NULL;
  bool matches = false;

  CHECK_OK(trust_password_hash(S("correct horse battery"), &phc, &err), err);
  CHECK(strncmp((const char *)trust_bytes_data(phc), "$argon2id$v=19$", 15) == 0);
  CHECK_OK(trust_password_verify(trust_bytes_data(phc), trust_bytes_len(phc), S("correct horse battery"), &matches,
                                 &rehash, &err),
           err);
  CHECK(matches && rehash == NULL);
  CHECK_OK(trust_password_verify(trust_bytes_data(phc), trust_bytes_len(phc), S("correct horse batterY"), &matches,
                                 &rehash, &err),
           err);
  CHECK(!matches && rehash == NULL);
  /* Two hashes of one password differ (random salt). */
  trust_bytes *phc2 = NULL;
  CHECK_OK(trust_password_hash(S("correct horse battery"), &phc2, &err), err);
  CHECK(!(trust_bytes_len(phc) == trust_bytes_len(phc2) &&
          memcmp(trust_bytes_data(phc), trust_bytes_data(phc2), trust_bytes_len(phc)) == 0));
  trust_bytes_free(phc2);
  trust_bytes_free(phc);
  phc = NULL;

  /* bcrypt verifies, and a match hands back an argon2id replacement (rehash_out optional). */
  const char *bcrypt = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
  CHECK_OK(trust_password_verify(S(bcrypt), S("U*U"), &matches, &rehash, &err), err);
  CHECK(matches && rehash != NULL);
  CHECK(strncmp((const char *)trust_bytes_data(rehash), "$argon2id$", 10) == 0);
  bool again = false;
  CHECK_OK(trust_password_verify(trust_bytes_data(rehash), trust_bytes_len(rehash), S("U*U"), &again, NULL, &err), err);
  CHECK(again);
  trust_bytes_free(rehash);
  rehash = NULL;
  CHECK_OK(trust_password_verify(S(bcrypt), S("U*V"), &matches, NULL, &err), err);
  CHECK(!matches);

  /* Errors: too short a new password, a stored string in neither format, NULLs, bad UTF-8. */
  CHECK_STATUS(trust_password_hash(S("short"), &phc, &err), TRUST_INVALID_ARGUMENT);
  CHECK(phc == NULL);
  CHECK(strcmp(trust_error_code(err), "PASSWORD_TOO_SHORT") == 0);
  trust_error_free(err);
  err = NULL;
  CHECK_STATUS(trust_password_verify(S("$md5$nope"), S("whatever"), &matches, &rehash, &err), TRUST_INPUT_UNREADABLE);
  EXPECT_ERROR(err, TRUST_INPUT_UNREADABLE, "HASH_MALFORMED");
  err = NULL;
  CHECK(rehash == NULL);
  CHECK_STATUS(trust_password_hash(NULL, 3, &phc, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_password_hash(S("correct horse battery"), NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_password_verify(S(bcrypt), S("U*U"), NULL, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_password_hash((const uint8_t *)"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", 8, &phc, NULL),
               TRUST_INVALID_UTF8);
  puts("password: ok");
  return 0;
}
