-- Khur exchange: the registry's versioned state (every change a new version, so the history
-- is the audit trail), and each gateway's message log with its accountability batches (one
-- RFC 3161 time-stamp over a Merkle root of records, plus the ledger indices of the records'
-- commitments). Records are append-only; a batch names the range of records it covers.
CREATE TABLE exchange_registry (
    version        INTEGER PRIMARY KEY NOT NULL,
    state          TEXT NOT NULL,
    actor          TEXT NOT NULL,
    why            TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL
);
CREATE TABLE exchange_records (
    gateway        TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    x_road_id      TEXT NOT NULL,
    side           TEXT NOT NULL,
    client         TEXT NOT NULL,
    service        TEXT NOT NULL,
    status         INTEGER NOT NULL,
    at_ms          INTEGER NOT NULL,
    -- The data subject (registration number) of a personal-data exchange, for the data
    -- tracker; NULL otherwise. Never leaves this database except to that subject.
    subject        TEXT,
    disclose_after_ms INTEGER,
    record         TEXT NOT NULL,
    record_hash    BLOB NOT NULL,
    -- SHA-256 of the tracker entry (personal-data records only): what goes to the access log.
    access_commitment BLOB,
    PRIMARY KEY (gateway, seq)
);
CREATE INDEX exchange_records_id ON exchange_records (gateway, x_road_id);
CREATE INDEX exchange_records_subject ON exchange_records (subject) WHERE subject IS NOT NULL;
CREATE TABLE exchange_batches (
    gateway        TEXT NOT NULL,
    first_seq      INTEGER NOT NULL,
    last_seq       INTEGER NOT NULL,
    root           BLOB NOT NULL,
    tsa_token      BLOB NOT NULL,
    -- Ledger indices of the records' commitments (8 bytes each, big-endian, in seq order);
    -- access-log indices of the tracker entries likewise.
    exchange_indices BLOB NOT NULL,
    access_indices   BLOB NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (gateway, first_seq)
);
