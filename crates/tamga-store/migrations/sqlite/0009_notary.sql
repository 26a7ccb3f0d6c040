-- e-Notary: contracts being signed (each version of the document replaces the last, guarded by
-- a version counter so that two signers cannot both build on the same version), and the
-- notarial register: one row per notarised act, numbered per year, with its verification code,
-- document hash and salted ledger commitment.
CREATE TABLE notary_contracts (
    contract_id    TEXT PRIMARY KEY NOT NULL,
    status         TEXT NOT NULL,
    record         TEXT NOT NULL,
    document       BLOB NOT NULL,
    version        INTEGER NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL
);
CREATE TABLE notary_register (
    register_number    TEXT PRIMARY KEY NOT NULL,
    year               INTEGER NOT NULL,
    seq                INTEGER NOT NULL,
    contract_id        TEXT NOT NULL UNIQUE,
    sha256             BLOB NOT NULL,
    verification_code  TEXT NOT NULL UNIQUE,
    ledger_log         TEXT NOT NULL,
    ledger_index       INTEGER NOT NULL,
    salt               BLOB NOT NULL,
    notarised_at_ms    INTEGER NOT NULL,
    public_record      TEXT NOT NULL
);
CREATE UNIQUE INDEX notary_register_year_seq ON notary_register (year, seq);
CREATE INDEX notary_register_sha256 ON notary_register (sha256);
