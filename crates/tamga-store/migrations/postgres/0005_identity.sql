-- Identity (the OpenID Connect provider): relying parties registered by the operator, the
-- citizens' sign-in credentials, consents, grants (one row per refresh-token family: the
-- current generation's hash only, so a rotation is one UPDATE and a replayed older token is
-- recognised as reuse), and access tokens revoked before their expiry.
CREATE TABLE id_clients (
    client_id      TEXT PRIMARY KEY NOT NULL,
    registration   TEXT NOT NULL,
    secret_hash    BYTEA,
    created_at_ms  BIGINT NOT NULL
);
CREATE TABLE id_accounts (
    account_id          TEXT PRIMARY KEY NOT NULL,
    registration_number TEXT NOT NULL UNIQUE,
    profile             TEXT NOT NULL,
    password_hash       TEXT,
    totp_secret         BYTEA,
    totp_last_step      BIGINT NOT NULL DEFAULT 0,
    failures            BIGINT NOT NULL DEFAULT 0,
    locked_until_ms     BIGINT NOT NULL DEFAULT 0,
    created_at_ms       BIGINT NOT NULL
);
CREATE TABLE id_consents (
    account_id     TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    granted_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
CREATE TABLE id_grants (
    grant_id       TEXT PRIMARY KEY NOT NULL,
    client_id      TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    details        TEXT NOT NULL,
    generation     BIGINT NOT NULL,
    secret_hash    BYTEA NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    revoked_at_ms  BIGINT,
    revoked_reason TEXT,
    created_at_ms  BIGINT NOT NULL
);
CREATE INDEX id_grants_session ON id_grants (session_id);
CREATE TABLE id_revoked_tokens (
    jti            TEXT PRIMARY KEY NOT NULL,
    expires_at_ms  BIGINT NOT NULL
);
-- Remote-signing credentials (Cloud Signature Consortium API): a key on the signing token and
-- its certificate chain, held for one account.
CREATE TABLE id_credentials (
    credential_id  TEXT PRIMARY KEY NOT NULL,
    account_id     TEXT NOT NULL,
    key_label      TEXT NOT NULL,
    certificates   TEXT NOT NULL,
    description    TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL
);
CREATE INDEX id_credentials_account ON id_credentials (account_id);
-- Passkeys (WebAuthn): the credential's public key and signature counter.
CREATE TABLE id_passkeys (
    credential_id  TEXT PRIMARY KEY NOT NULL,
    account_id     TEXT NOT NULL,
    public_key     BYTEA NOT NULL,
    sign_count     BIGINT NOT NULL,
    created_at_ms  BIGINT NOT NULL
);
CREATE INDEX id_passkeys_account ON id_passkeys (account_id);
-- Representation mandates: who may act for whom (a parent for a child under 16, from civil
-- registration; an employee for a company, granted by its legal representative), and on what
-- basis. Revoked mandates keep their row.
CREATE TABLE id_mandates (
    mandate_id      TEXT PRIMARY KEY NOT NULL,
    actor           TEXT NOT NULL,
    subject_kind    TEXT NOT NULL,
    subject_id      TEXT NOT NULL,
    subject_name    TEXT NOT NULL,
    basis           TEXT NOT NULL,
    granted_by      TEXT NOT NULL,
    subject_birthdate TEXT,
    valid_until_ms  BIGINT,
    revoked_at_ms   BIGINT,
    created_at_ms   BIGINT NOT NULL
);
CREATE INDEX id_mandates_actor ON id_mandates (actor);
