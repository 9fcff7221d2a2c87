-- Audit logs on PostgreSQL, after Tessera's MySQL storage: one tree-state row per log, locked
-- (`SELECT … FOR UPDATE`) by the transaction that assigns indexes to a batch, writes its leaves
-- and tree nodes and advances the state; checkpoints are signed and stored separately.
--
-- Every `leaf` holds the very bytes a directory log frames into its segments (the leaf encodes
-- its own index and the previous leaf's hash), and `hash` the stored leaf hash, so an exported
-- copy is byte-for-byte a directory log and `trust audit verify` finds an edited, deleted or
-- moved row (LEAF_HASH_MISMATCH, CHAIN_BREAK, INDEX_GAP, ROOT_MISMATCH).

-- One row per log in this schema: its name (chosen in the URL, `?log=NAME`), `log.json` and
-- the verifier key.
CREATE TABLE trust_audit_logs (
    id         integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    config     bytea       NOT NULL,
    vkey       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The writer's keys, apart so that a role that only verifies or exports can be denied them:
-- the checkpoint signing key (Go note skey text; NULL when an HSM holds it) and the
-- pseudonymization key (the text of a directory log's pseudonym.key).
CREATE TABLE trust_audit_keys (
    log_id        integer PRIMARY KEY REFERENCES trust_audit_logs (id),
    signing_key   text,
    pseudonym_key text    NOT NULL
);

-- The tree state: size, the compact range (the perfect-subtree roots of the right border,
-- 32 bytes each, largest first) and the last leaf hash. The row every append locks.
CREATE TABLE trust_audit_tree (
    log_id    integer PRIMARY KEY REFERENCES trust_audit_logs (id),
    size      bigint  NOT NULL CHECK (size >= 0),
    border    bytea   NOT NULL,
    last_hash bytea
);

-- The entries. No foreign key: its per-row check would cost every append.
CREATE TABLE trust_audit_leaves (
    log_id integer NOT NULL,
    idx    bigint  NOT NULL,
    hash   bytea   NOT NULL,
    leaf   bytea   NOT NULL,
    PRIMARY KEY (log_id, idx)
);

-- Perfect-subtree hashes at levels 8, 16, 24, … (one per 256 entries below them, as Tessera's
-- tiles): any node of the tree is computed from at most 128 stored hashes.
CREATE TABLE trust_audit_nodes (
    log_id integer NOT NULL,
    level  integer NOT NULL,
    idx    bigint  NOT NULL,
    hash   bytea   NOT NULL,
    PRIMARY KEY (log_id, level, idx)
);

-- Signed checkpoints (C2SP signed notes), never updated.
CREATE TABLE trust_audit_checkpoints (
    log_id     integer     NOT NULL,
    size       bigint      NOT NULL,
    root       bytea       NOT NULL,
    note       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (log_id, size, root)
);

-- Payloads kept apart from their entries (salt ‖ payload, as DIR/payloads/N.bin); a GDPR
-- erasure deletes the row, the entry's commitment stays.
CREATE TABLE trust_audit_payloads (
    log_id  integer NOT NULL,
    idx     bigint  NOT NULL,
    salt    bytea   NOT NULL,
    payload bytea   NOT NULL,
    PRIMARY KEY (log_id, idx)
);
