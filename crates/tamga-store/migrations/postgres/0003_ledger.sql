-- The ledger: append-only logs (entries, full Merkle tiles, signed checkpoints) and the
-- witness's record of the latest checkpoint it cosigned per log.
CREATE TABLE ledger_entries (
    log     TEXT NOT NULL,
    idx     BIGINT NOT NULL,
    data    BYTEA NOT NULL,
    leaf    BYTEA NOT NULL,
    PRIMARY KEY (log, idx)
);
-- Inclusion proofs by leaf hash (RFC 9162 leaf hash of the entry).
CREATE INDEX ledger_entries_leaf ON ledger_entries (log, leaf);
CREATE TABLE ledger_tiles (
    log     TEXT NOT NULL,
    level   BIGINT NOT NULL,
    idx     BIGINT NOT NULL,
    hashes  BYTEA NOT NULL,
    PRIMARY KEY (log, level, idx)
);
CREATE TABLE ledger_checkpoints (
    log            TEXT NOT NULL,
    size           BIGINT NOT NULL,
    note           TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (log, size)
);
CREATE TABLE ledger_witness (
    witness        TEXT NOT NULL,
    origin         TEXT NOT NULL,
    size           BIGINT NOT NULL,
    note           TEXT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (witness, origin)
);
