-- The electronic archive: each document's metadata, hash, ledger commitment (salted) and
-- RFC 4998 evidence record; the content lives apart so that disposal deletes it and keeps the
-- proof that it existed and when it was disposed of.
CREATE TABLE archive_documents (
    document_id            TEXT PRIMARY KEY NOT NULL,
    sha256                 BYTEA NOT NULL,
    size_bytes             BIGINT NOT NULL,
    file_name              TEXT NOT NULL,
    media_type             TEXT NOT NULL,
    title                  TEXT NOT NULL,
    creator                TEXT NOT NULL,
    classification         TEXT NOT NULL,
    retention_until_ms     BIGINT NOT NULL,
    ingested_at_ms         BIGINT NOT NULL,
    ledger_log             TEXT NOT NULL,
    ledger_index           BIGINT NOT NULL,
    salt                   BYTEA NOT NULL,
    evidence               BYTEA,
    renew_by_ms            BIGINT,
    disposed_at_ms         BIGINT,
    disposal_reason        TEXT,
    disposal_ledger_index  BIGINT
);
CREATE INDEX archive_documents_pending ON archive_documents (ingested_at_ms) WHERE evidence IS NULL;
CREATE INDEX archive_documents_renew ON archive_documents (renew_by_ms) WHERE disposed_at_ms IS NULL;
CREATE TABLE archive_contents (
    document_id  TEXT PRIMARY KEY NOT NULL,
    content      BYTEA NOT NULL
);
