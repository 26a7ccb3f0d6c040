-- e-Notary: contracts being signed (each version of the document replaces the last, guarded by
-- a version counter so that two signers cannot both build on the same version), and the
-- notarial register: one row per notarised act, numbered per year, with its verification code,
-- document hash and salted ledger commitment.
CREATE TABLE notary_contracts (
    contract_id    TEXT PRIMARY KEY NOT NULL,
    status         TEXT NOT NULL,
    record         TEXT NOT NULL,
    document       BYTEA NOT NULL,
    version        BIGINT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
CREATE TABLE notary_register (
    register_number    TEXT PRIMARY KEY NOT NULL,
    year               BIGINT NOT NULL,
    seq                BIGINT NOT NULL,
    contract_id        TEXT NOT NULL UNIQUE,
    sha256             BYTEA NOT NULL,
    verification_code  TEXT NOT NULL UNIQUE,
    ledger_log         TEXT NOT NULL,
    ledger_index       BIGINT NOT NULL,
    salt               BYTEA NOT NULL,
    notarised_at_ms    BIGINT NOT NULL,
    public_record      TEXT NOT NULL
);
CREATE UNIQUE INDEX notary_register_year_seq ON notary_register (year, seq);
CREATE INDEX notary_register_sha256 ON notary_register (sha256);
