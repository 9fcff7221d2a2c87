-- Vault secrets: one row per (tenant, name) holding the same JSON record as the local store's
-- `vault/<tenant>/<name>.json` (values sealed under the home's keyrings, bound to tenant, name,
-- version and field). `revision` drives compare-and-swap and must agree with the record.
CREATE TABLE trust_vault_secrets (
    tenant     text        NOT NULL,
    name       text        NOT NULL,
    revision   bigint      NOT NULL,
    record     bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, name)
);
