-- The home on PostgreSQL. Every record column holds the same bytes the local home writes to its
-- files (authenticated by the home's root key where the file is), so the database is storage,
-- never a source of trust: an edited row fails its check when read.

-- The home record (the bytes of home.json: root-key descriptor and check value); exactly one
-- row. `store_name` is bound into every value the root key wraps in this store, so rows copied
-- from another deployment (even one sharing the root key) fail to verify here.
CREATE TABLE trust_home (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    record     bytea       NOT NULL,
    store_name text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Keyrings: the MAC-protected keyring file, replaced by compare-and-swap on `revision`.
CREATE TABLE trust_keyrings (
    name       text        PRIMARY KEY,
    revision   bigint      NOT NULL,
    contents   bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Per-subject data keys; `erased` rows are tombstones and never change again.
CREATE TABLE trust_subject_keys (
    keyring    text        NOT NULL,
    subject    text        NOT NULL,
    record     bytea       NOT NULL,
    erased     boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (keyring, subject)
);

-- The GDPR request register: one row per request (the JSON of one entry of the local
-- requests.json), in the order added. Writers take a table lock, so concurrent changes queue.
CREATE TABLE trust_gdpr_requests (
    id         text        PRIMARY KEY,
    position   bigint      NOT NULL UNIQUE,
    record     bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Webhook delivery ids already admitted, until they expire (server clock).
CREATE TABLE trust_seen_ids (
    key        text        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX trust_seen_ids_expiry ON trust_seen_ids (expires_at);
