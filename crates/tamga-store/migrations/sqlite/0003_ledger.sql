-- The ledger: append-only logs (entries, full Merkle tiles, signed checkpoints) and the
-- witness's record of the latest checkpoint it cosigned per log.
CREATE TABLE ledger_entries (
    log     TEXT NOT NULL,
    idx     INTEGER NOT NULL,
    data    BLOB NOT NULL,
    leaf    BLOB NOT NULL,
    PRIMARY KEY (log, idx)
);
-- Inclusion proofs by leaf hash (RFC 9162 leaf hash of the entry).
CREATE INDEX ledger_entries_leaf ON ledger_entries (log, leaf);
CREATE TABLE ledger_tiles (
    log     TEXT NOT NULL,
    level   INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    hashes  BLOB NOT NULL,
    PRIMARY KEY (log, level, idx)
);
CREATE TABLE ledger_checkpoints (
    log            TEXT NOT NULL,
    size           INTEGER NOT NULL,
    note           TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (log, size)
);
CREATE TABLE ledger_witness (
    witness        TEXT NOT NULL,
    origin         TEXT NOT NULL,
    size           INTEGER NOT NULL,
    note           TEXT NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (witness, origin)
);
