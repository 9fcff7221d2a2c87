-- TOTP factors: the secret sealed under the home's `mfa` keyring (bound to user and device);
-- `last_step` is the replay guard, advanced only upwards by one conditional UPDATE.
CREATE TABLE trust_mfa_factors (
    user_id    text        NOT NULL,
    device     text        NOT NULL,
    algorithm  text        NOT NULL,
    digits     smallint    NOT NULL,
    period     integer     NOT NULL,
    sealed     text        NOT NULL,
    last_step  bigint      CHECK (last_step >= 0),
    created    bigint      NOT NULL,
    PRIMARY KEY (user_id, device)
);

-- Recovery codes, stored as SHA-256 hashes bound to the user; `used` goes false -> true once.
CREATE TABLE trust_mfa_recovery (
    user_id    text        NOT NULL,
    hash       bytea       NOT NULL CHECK (length(hash) = 32),
    used       boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (user_id, hash)
);

-- Whether destructive commands (keys destroy, gdpr erase, secrets delete) need a second factor.
CREATE TABLE trust_mfa_policy (
    singleton               boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    require_for_destructive boolean     NOT NULL,
    updated_at              timestamptz NOT NULL DEFAULT now()
);
