-- The ledger: append-only logs (entries, full Merkle tiles, signed checkpoints) and each
-- witness's record of the latest checkpoint it cosigned per log. Logs are numbered so that
-- their name is not repeated in every row and index entry.
CREATE TABLE ledger_logs (
    id      BIGINT PRIMARY KEY NOT NULL,
    name    TEXT NOT NULL UNIQUE
);
CREATE TABLE ledger_entries (
    log_id    BIGINT NOT NULL,
    idx       BIGINT NOT NULL,
    data      BYTEA NOT NULL,
    -- The first 8 bytes of the RFC 9162 leaf hash, for proofs by leaf hash (the full hash is
    -- recomputed from `data` on lookup).
    leaf_key  BIGINT NOT NULL,
    PRIMARY KEY (log_id, idx)
);
CREATE INDEX ledger_entries_leaf ON ledger_entries (log_id, leaf_key);
CREATE TABLE ledger_tiles (
    log_id  BIGINT NOT NULL,
    level   BIGINT NOT NULL,
    idx     BIGINT NOT NULL,
    hashes  BYTEA NOT NULL,
    PRIMARY KEY (log_id, level, idx)
);
CREATE TABLE ledger_checkpoints (
    log_id         BIGINT NOT NULL,
    size           BIGINT NOT NULL,
    note           TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (log_id, size)
);
CREATE TABLE ledger_witness (
    witness        TEXT NOT NULL,
    origin         TEXT NOT NULL,
    size           BIGINT NOT NULL,
    note           TEXT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (witness, origin)
);
