-- The electronic archive: each document's metadata, hash, ledger commitment (salted) and
-- RFC 4998 evidence record; the content lives apart so that disposal deletes it and keeps the
-- proof that it existed and when it was disposed of.
CREATE TABLE archive_documents (
    document_id            TEXT PRIMARY KEY NOT NULL,
    sha256                 BLOB NOT NULL,
    size_bytes             INTEGER NOT NULL,
    file_name              TEXT NOT NULL,
    media_type             TEXT NOT NULL,
    title                  TEXT NOT NULL,
    creator                TEXT NOT NULL,
    classification         TEXT NOT NULL,
    retention_until_ms     INTEGER NOT NULL,
    ingested_at_ms         INTEGER NOT NULL,
    ledger_log             TEXT NOT NULL,
    ledger_index           INTEGER NOT NULL,
    salt                   BLOB NOT NULL,
    evidence               BLOB,
    renew_by_ms            INTEGER,
    disposed_at_ms         INTEGER,
    disposal_reason        TEXT,
    disposal_ledger_index  INTEGER
);
CREATE INDEX archive_documents_pending ON archive_documents (ingested_at_ms) WHERE evidence IS NULL;
CREATE INDEX archive_documents_renew ON archive_documents (renew_by_ms) WHERE disposed_at_ms IS NULL;
CREATE TABLE archive_contents (
    document_id  TEXT PRIMARY KEY NOT NULL,
    content      BLOB NOT NULL
);
