/* GENERATED from crates/trust-ffi/include/trust.h by bindings/php/tools/gen-header.php;
 * do not edit. Declarations only, as PHP's FFI parser takes them. */
enum trust_status
 {
  TRUST_OK = 0,
  TRUST_VERIFICATION_FAILED = 100,
  TRUST_INVALID_ARGUMENT = 200,
  TRUST_NULL_ARGUMENT = 201,
  TRUST_BUFFER_TOO_SMALL = 202,
  TRUST_INVALID_UTF8 = 203,
  TRUST_INPUT_UNREADABLE = 300,
  TRUST_KEY_UNAVAILABLE = 400,
  TRUST_REFUSED = 500,
  TRUST_INTERNAL = 700,
  TRUST_PANIC = 701,
};
typedef uint32_t trust_status;
typedef struct trust_audit_log trust_audit_log;
typedef struct trust_bytes trust_bytes;
typedef struct trust_context trust_context;
typedef struct trust_error trust_error;
typedef struct trust_home trust_home;
typedef struct trust_mfa trust_mfa;
typedef struct trust_redactor trust_redactor;
typedef struct trust_subjects trust_subjects;
typedef struct trust_vault trust_vault;
typedef struct trust_webhook_verifier trust_webhook_verifier;
trust_status trust_audit_log_init(const char *dir,
                                  size_t dir_len,
                                  const char *origin,
                                  size_t origin_len,
                                  struct trust_bytes **vkey_out,
                                  struct trust_error **err_out);
trust_status trust_audit_log_open(const char *dir,
                                  size_t dir_len,
                                  struct trust_audit_log **log_out,
                                  struct trust_error **err_out);
void trust_audit_log_free(struct trust_audit_log *log);
trust_status trust_audit_log_append(const struct trust_audit_log *log,
                                    const char *event_type,
                                    size_t event_type_len,
                                    const char *actor,
                                    size_t actor_len,
                                    const char *subject,
                                    size_t subject_len,
                                    const char *payload,
                                    size_t payload_len,
                                    uint64_t *index_out,
                                    struct trust_error **err_out);
trust_status trust_audit_log_size(const struct trust_audit_log *log,
                                  uint64_t *size_out,
                                  struct trust_error **err_out);
trust_status trust_audit_log_root(const struct trust_audit_log *log,
                                  char *out,
                                  size_t out_len,
                                  struct trust_error **err_out);
trust_status trust_audit_log_checkpoint(const struct trust_audit_log *log,
                                        struct trust_bytes **note_out,
                                        struct trust_error **err_out);
trust_status trust_audit_log_verify(const char *dir,
                                    size_t dir_len,
                                    const char *vkey,
                                    size_t vkey_len,
                                    struct trust_bytes **report_out,
                                    struct trust_error **err_out);
const uint8_t *trust_bytes_data(const struct trust_bytes *bytes);
size_t trust_bytes_len(const struct trust_bytes *bytes);
void trust_bytes_free(struct trust_bytes *bytes);
trust_status trust_error_status(const struct trust_error *err);
const char *trust_error_code(const struct trust_error *err);
const char *trust_error_message(const struct trust_error *err);
const char *trust_error_hint(const struct trust_error *err);
void trust_error_free(struct trust_error *err);
size_t trust_ed25519_public_key_bytes(void);
trust_status trust_subjects_new(const struct trust_home *home,
                                const char *store_dir,
                                size_t store_dir_len,
                                const char *signing_key_file,
                                size_t signing_key_file_len,
                                struct trust_subjects **subjects_out,
                                struct trust_error **err_out);
void trust_subjects_free(struct trust_subjects *subjects);
trust_status trust_subjects_signer_public_key(const struct trust_subjects *subjects,
                                              char *out,
                                              size_t out_len,
                                              struct trust_error **err_out);
trust_status trust_subjects_seal(const struct trust_subjects *subjects,
                                 const char *keyring,
                                 size_t keyring_len,
                                 const char *subject_id,
                                 size_t subject_id_len,
                                 const struct trust_context *context,
                                 const char *plaintext,
                                 size_t plaintext_len,
                                 struct trust_bytes **envelope_out,
                                 struct trust_error **err_out);
trust_status trust_subjects_open(const struct trust_subjects *subjects,
                                 const struct trust_context *context,
                                 const char *envelope,
                                 size_t envelope_len,
                                 struct trust_bytes **plaintext_out,
                                 struct trust_error **err_out);
trust_status trust_subjects_erase(const struct trust_subjects *subjects,
                                  const char *keyring,
                                  size_t keyring_len,
                                  const char *subject_id,
                                  size_t subject_id_len,
                                  const char *request,
                                  size_t request_len,
                                  uint32_t backup_retention_days,
                                  const struct trust_audit_log *audit_log,
                                  struct trust_bytes **receipt_out,
                                  struct trust_error **err_out);
trust_status trust_gdpr_verify_receipt(const char *receipt,
                                       size_t receipt_len,
                                       const char *public_key,
                                       size_t public_key_len,
                                       struct trust_error **err_out);
trust_status trust_context_new(struct trust_context **context_out, struct trust_error **err_out);
trust_status trust_context_add(struct trust_context *context,
                               const char *key,
                               size_t key_len,
                               const char *value,
                               size_t value_len,
                               struct trust_error **err_out);
void trust_context_free(struct trust_context *context);
trust_status trust_home_init_store(const char *store,
                                   size_t store_len,
                                   const char *key_file,
                                   size_t key_file_len,
                                   struct trust_home **home_out,
                                   struct trust_error **err_out);
trust_status trust_home_open_store(const char *store,
                                   size_t store_len,
                                   const char *key_file,
                                   size_t key_file_len,
                                   const char *passphrase,
                                   size_t passphrase_len,
                                   struct trust_home **home_out,
                                   struct trust_error **err_out);
trust_status trust_home_init_key_file(const char *dir,
                                      size_t dir_len,
                                      const char *key_file,
                                      size_t key_file_len,
                                      struct trust_home **home_out,
                                      struct trust_error **err_out);
trust_status trust_home_init_passphrase(const char *dir,
                                        size_t dir_len,
                                        const char *passphrase,
                                        size_t passphrase_len,
                                        uint32_t m_kib,
                                        uint32_t t,
                                        uint32_t p,
                                        struct trust_home **home_out,
                                        struct trust_error **err_out);
trust_status trust_home_open_key_file(const char *dir,
                                      size_t dir_len,
                                      const char *key_file,
                                      size_t key_file_len,
                                      struct trust_home **home_out,
                                      struct trust_error **err_out);
trust_status trust_home_open_passphrase(const char *dir,
                                        size_t dir_len,
                                        const char *passphrase,
                                        size_t passphrase_len,
                                        struct trust_home **home_out,
                                        struct trust_error **err_out);
void trust_home_free(struct trust_home *home);
trust_status trust_home_create_keyring(const struct trust_home *home,
                                       const char *name,
                                       size_t name_len,
                                       uint32_t suite,
                                       struct trust_error **err_out);
trust_status trust_home_rotate(const struct trust_home *home,
                               const char *name,
                               size_t name_len,
                               bool promote,
                               uint32_t *version_out,
                               struct trust_error **err_out);
trust_status trust_home_promote(const struct trust_home *home,
                                const char *name,
                                size_t name_len,
                                uint32_t version,
                                struct trust_error **err_out);
trust_status trust_home_retire(const struct trust_home *home,
                               const char *name,
                               size_t name_len,
                               uint32_t version,
                               struct trust_error **err_out);
trust_status trust_home_enable(const struct trust_home *home,
                               const char *name,
                               size_t name_len,
                               uint32_t version,
                               struct trust_error **err_out);
trust_status trust_home_destroy(const struct trust_home *home,
                                const char *name,
                                size_t name_len,
                                uint32_t version,
                                const char *force_reason,
                                size_t force_reason_len,
                                bool *destroyed_out,
                                int64_t *after_out,
                                struct trust_error **err_out);
trust_status trust_home_keyrings(const struct trust_home *home,
                                 struct trust_bytes **json_out,
                                 struct trust_error **err_out);
trust_status trust_home_keyring_info(const struct trust_home *home,
                                     const char *name,
                                     size_t name_len,
                                     struct trust_bytes **json_out,
                                     struct trust_error **err_out);
trust_status trust_home_seal(const struct trust_home *home,
                             const char *keyring,
                             size_t keyring_len,
                             const struct trust_context *context,
                             const char *plaintext,
                             size_t plaintext_len,
                             struct trust_bytes **envelope_out,
                             struct trust_error **err_out);
trust_status trust_home_open(const struct trust_home *home,
                             const struct trust_context *context,
                             const char *envelope,
                             size_t envelope_len,
                             struct trust_bytes **plaintext_out,
                             struct trust_error **err_out);
trust_status trust_home_seal_token(const struct trust_home *home,
                                   const char *keyring,
                                   size_t keyring_len,
                                   const struct trust_context *context,
                                   const char *plaintext,
                                   size_t plaintext_len,
                                   struct trust_bytes **token_out,
                                   struct trust_error **err_out);
trust_status trust_home_open_token(const struct trust_home *home,
                                   const struct trust_context *context,
                                   const char *token,
                                   size_t token_len,
                                   struct trust_bytes **plaintext_out,
                                   struct trust_error **err_out);
size_t trust_merkle_hash_bytes(void);
trust_status trust_merkle_leaf_hash(const char *data,
                                    size_t data_len,
                                    char *out,
                                    size_t out_len,
                                    struct trust_error **err_out);
trust_status trust_merkle_root(const char *leaf_hashes,
                               size_t leaf_hashes_len,
                               char *out,
                               size_t out_len,
                               struct trust_error **err_out);
trust_status trust_merkle_inclusion_proof(const char *leaf_hashes,
                                          size_t leaf_hashes_len,
                                          uint64_t index,
                                          struct trust_bytes **proof_out,
                                          struct trust_error **err_out);
trust_status trust_merkle_consistency_proof(const char *leaf_hashes,
                                            size_t leaf_hashes_len,
                                            uint64_t size1,
                                            struct trust_bytes **proof_out,
                                            struct trust_error **err_out);
trust_status trust_merkle_verify_inclusion(uint64_t index,
                                           uint64_t size,
                                           const char *leaf_hash,
                                           size_t leaf_hash_len,
                                           const char *proof,
                                           size_t proof_len,
                                           const char *root,
                                           size_t root_len,
                                           struct trust_error **err_out);
trust_status trust_merkle_verify_consistency(uint64_t size1,
                                             uint64_t size2,
                                             const char *proof,
                                             size_t proof_len,
                                             const char *root1,
                                             size_t root1_len,
                                             const char *root2,
                                             size_t root2_len,
                                             struct trust_error **err_out);
trust_status trust_mfa_new(const struct trust_home *home,
                           const char *issuer,
                           size_t issuer_len,
                           const struct trust_audit_log *audit_log,
                           struct trust_mfa **mfa_out,
                           struct trust_error **err_out);
void trust_mfa_free(struct trust_mfa *mfa);
trust_status trust_mfa_enroll(const struct trust_mfa *mfa,
                              const char *user,
                              size_t user_len,
                              const char *device,
                              size_t device_len,
                              const char *secret,
                              size_t secret_len,
                              uint32_t algorithm,
                              uint32_t digits,
                              struct trust_bytes **uri_out,
                              struct trust_error **err_out);
trust_status trust_mfa_verify(const struct trust_mfa *mfa,
                              const char *user,
                              size_t user_len,
                              const char *device,
                              size_t device_len,
                              const char *code,
                              size_t code_len,
                              int64_t now_unix,
                              uint64_t *step_out,
                              struct trust_error **err_out);
trust_status trust_mfa_recovery_codes(const struct trust_mfa *mfa,
                                      const char *user,
                                      size_t user_len,
                                      struct trust_bytes **codes_out,
                                      struct trust_error **err_out);
trust_status trust_mfa_redeem_recovery_code(const struct trust_mfa *mfa,
                                            const char *user,
                                            size_t user_len,
                                            const char *code,
                                            size_t code_len,
                                            struct trust_error **err_out);
trust_status trust_mfa_remove(const struct trust_mfa *mfa,
                              const char *user,
                              size_t user_len,
                              bool *removed_out,
                              struct trust_error **err_out);
trust_status trust_password_hash(const char *password,
                                 size_t password_len,
                                 struct trust_bytes **phc_out,
                                 struct trust_error **err_out);
trust_status trust_password_verify(const char *stored,
                                   size_t stored_len,
                                   const char *password,
                                   size_t password_len,
                                   bool *matches_out,
                                   struct trust_bytes **rehash_out,
                                   struct trust_error **err_out);
size_t trust_redact_min_literal_bytes(void);
trust_status trust_redactor_new(const char *const *literals,
                                const size_t *literal_lens,
                                size_t literal_count,
                                uint32_t flags,
                                struct trust_redactor **redactor_out,
                                struct trust_error **err_out);
trust_status trust_redactor_redact(const struct trust_redactor *redactor,
                                   const char *text,
                                   size_t text_len,
                                   struct trust_bytes **out,
                                   struct trust_error **err_out);
trust_status trust_redact(const char *text,
                          size_t text_len,
                          struct trust_bytes **out,
                          struct trust_error **err_out);
void trust_redactor_free(struct trust_redactor *redactor);
const char *trust_status_str(uint32_t status);
trust_status trust_vault_new(const struct trust_home *home,
                             const char *keyring,
                             size_t keyring_len,
                             const struct trust_audit_log *audit_log,
                             struct trust_vault **vault_out,
                             struct trust_error **err_out);
void trust_vault_free(struct trust_vault *vault);
trust_status trust_vault_put(const struct trust_vault *vault,
                             const char *actor,
                             size_t actor_len,
                             const char *name,
                             size_t name_len,
                             const char *value,
                             size_t value_len,
                             uint32_t kind,
                             const char *const *readers,
                             const size_t *reader_lens,
                             size_t reader_count,
                             int64_t expires_unix,
                             const char *refresh_token,
                             size_t refresh_token_len,
                             uint32_t *version_out,
                             struct trust_error **err_out);
trust_status trust_vault_rotate(const struct trust_vault *vault,
                                const char *actor,
                                size_t actor_len,
                                const char *name,
                                size_t name_len,
                                const char *value,
                                size_t value_len,
                                uint32_t kind,
                                const char *const *readers,
                                const size_t *reader_lens,
                                size_t reader_count,
                                int64_t expires_unix,
                                const char *refresh_token,
                                size_t refresh_token_len,
                                uint32_t *version_out,
                                struct trust_error **err_out);
trust_status trust_vault_get(const struct trust_vault *vault,
                             const char *actor,
                             size_t actor_len,
                             const char *name,
                             size_t name_len,
                             const char *purpose,
                             size_t purpose_len,
                             uint32_t version,
                             struct trust_bytes **value_out,
                             uint32_t *version_out,
                             struct trust_bytes **refresh_token_out,
                             struct trust_error **err_out);
trust_status trust_vault_needs_refresh(const struct trust_vault *vault,
                                       const char *name,
                                       size_t name_len,
                                       int64_t now_unix,
                                       uint64_t margin_secs,
                                       bool *needs_out,
                                       struct trust_error **err_out);
trust_status trust_vault_refresh(const struct trust_vault *vault,
                                 const char *actor,
                                 size_t actor_len,
                                 const char *name,
                                 size_t name_len,
                                 const char *purpose,
                                 size_t purpose_len,
                                 uint64_t margin_secs,
                                 uint32_t expected_version,
                                 const char *value,
                                 size_t value_len,
                                 const char *refresh_token,
                                 size_t refresh_token_len,
                                 int64_t expires_unix,
                                 struct trust_bytes **value_out,
                                 uint32_t *version_out,
                                 uint32_t *outcome_out,
                                 struct trust_error **err_out);
trust_status trust_vault_list(const struct trust_vault *vault,
                              const char *tenant,
                              size_t tenant_len,
                              struct trust_bytes **json_out,
                              struct trust_error **err_out);
trust_status trust_vault_delete(const struct trust_vault *vault,
                                const char *actor,
                                size_t actor_len,
                                const char *name,
                                size_t name_len,
                                struct trust_error **err_out);
const char *trust_version(void);
uint32_t trust_abi_version(void);
trust_status trust_test_panic(struct trust_error **err_out);
size_t trust_webhook_max_secrets(void);
trust_status trust_webhook_verifier_new(const char *const *secrets,
                                        const size_t *secret_lens,
                                        size_t secret_count,
                                        uint64_t tolerance_secs,
                                        struct trust_webhook_verifier **verifier_out,
                                        struct trust_error **err_out);
void trust_webhook_verifier_free(struct trust_webhook_verifier *verifier);
trust_status trust_webhook_verify_shopify(const struct trust_webhook_verifier *verifier,
                                          const char *hmac,
                                          size_t hmac_len,
                                          const char *body,
                                          size_t body_len,
                                          struct trust_error **err_out);
trust_status trust_webhook_verify_shopify_oauth(const struct trust_webhook_verifier *verifier,
                                                const char *query,
                                                size_t query_len,
                                                int64_t now,
                                                struct trust_error **err_out);
trust_status trust_webhook_verify_shopify_app_proxy(const struct trust_webhook_verifier *verifier,
                                                    const char *query,
                                                    size_t query_len,
                                                    int64_t now,
                                                    struct trust_error **err_out);
trust_status trust_webhook_verify_shopify_session_token(const struct trust_webhook_verifier *verifier,
                                                        const char *api_key,
                                                        size_t api_key_len,
                                                        const char *authorization,
                                                        size_t authorization_len,
                                                        int64_t now,
                                                        struct trust_error **err_out);
trust_status trust_webhook_verify_stripe(const struct trust_webhook_verifier *verifier,
                                         const char *signature,
                                         size_t signature_len,
                                         const char *body,
                                         size_t body_len,
                                         int64_t now,
                                         struct trust_error **err_out);
trust_status trust_webhook_verify_hubspot_v1(const struct trust_webhook_verifier *verifier,
                                             const char *signature,
                                             size_t signature_len,
                                             const char *body,
                                             size_t body_len,
                                             struct trust_error **err_out);
trust_status trust_webhook_verify_hubspot_v2(const struct trust_webhook_verifier *verifier,
                                             const char *signature,
                                             size_t signature_len,
                                             const char *method,
                                             size_t method_len,
                                             const char *url,
                                             size_t url_len,
                                             const char *body,
                                             size_t body_len,
                                             struct trust_error **err_out);
trust_status trust_webhook_verify_hubspot_v3(const struct trust_webhook_verifier *verifier,
                                             const char *signature,
                                             size_t signature_len,
                                             const char *timestamp,
                                             size_t timestamp_len,
                                             const char *method,
                                             size_t method_len,
                                             const char *url,
                                             size_t url_len,
                                             const char *body,
                                             size_t body_len,
                                             int64_t now,
                                             struct trust_error **err_out);
trust_status trust_webhook_verify_standard(const struct trust_webhook_verifier *verifier,
                                           const char *id,
                                           size_t id_len,
                                           const char *timestamp,
                                           size_t timestamp_len,
                                           const char *signature,
                                           size_t signature_len,
                                           const char *body,
                                           size_t body_len,
                                           int64_t now,
                                           struct trust_error **err_out);
trust_status trust_webhook_verify_github(const struct trust_webhook_verifier *verifier,
                                         const char *signature,
                                         size_t signature_len,
                                         const char *body,
                                         size_t body_len,
                                         struct trust_error **err_out);
trust_status trust_webhook_verify_slack(const struct trust_webhook_verifier *verifier,
                                        const char *signature,
                                        size_t signature_len,
                                        const char *timestamp,
                                        size_t timestamp_len,
                                        const char *body,
                                        size_t body_len,
                                        int64_t now,
                                        struct trust_error **err_out);
trust_status trust_webhook_verify(const struct trust_webhook_verifier *verifier,
                                  const char *scheme,
                                  size_t scheme_len,
                                  const char *body,
                                  size_t body_len,
                                  const char *const *header_names,
                                  const size_t *header_name_lens,
                                  const char *const *header_values,
                                  const size_t *header_value_lens,
                                  size_t header_count,
                                  const char *method,
                                  size_t method_len,
                                  const char *url,
                                  size_t url_len,
                                  const char *query,
                                  size_t query_len,
                                  const char *audience,
                                  size_t audience_len,
                                  int64_t now,
                                  struct trust_bytes **result_out,
                                  struct trust_error **err_out);
