-- The GDPR signing key (Ed25519, PKCS#8) of a database home: erasure receipts and export
-- manifests are signed with it on every worker, so it lives beside the subject keys rather than
-- in a local file. `sealed` is an envelope token under the home's `gdpr` keyring, bound to the
-- context purpose=trust.gdpr.signer and to `public_key`; an edited or swapped row does not open.
CREATE TABLE trust_gdpr_signer (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    public_key bytea       NOT NULL CHECK (length(public_key) = 32),
    sealed     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
