-- Citizen portal: the document wallet (documents issued to a citizen, kept with their hash),
-- time-limited revocable share links (only the token's hash is stored) and every opening of
-- a shared link, so the citizen sees who looked and when.
CREATE TABLE portal_documents (
    document_id    TEXT PRIMARY KEY NOT NULL,
    owner          TEXT NOT NULL,
    title_mn       TEXT NOT NULL,
    title_en       TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    file_name      TEXT NOT NULL,
    content        BLOB NOT NULL,
    sha256         BLOB NOT NULL,
    issuer         TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL
);
CREATE INDEX portal_documents_owner ON portal_documents (owner);
CREATE TABLE portal_shares (
    share_id       TEXT PRIMARY KEY NOT NULL,
    token_hash     BLOB NOT NULL UNIQUE,
    document_id    TEXT NOT NULL,
    owner          TEXT NOT NULL,
    recipient      TEXT NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    revoked_at_ms  INTEGER,
    created_at_ms  INTEGER NOT NULL
);
CREATE INDEX portal_shares_document ON portal_shares (document_id);
CREATE TABLE portal_share_opens (
    share_id       TEXT NOT NULL,
    at_ms          INTEGER NOT NULL
);
CREATE INDEX portal_share_opens_share ON portal_share_opens (share_id);
