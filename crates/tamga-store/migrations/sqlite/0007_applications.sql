-- Once-only applications: what the citizen applied for (and for whom), the evidence fetched
-- over the exchange, the answers to what no register holds, the signed application, its
-- delivery and the decision; the citizen's inbox; verification codes printed on issued
-- documents; where to send notifications; and which officials act for which organisation.
CREATE TABLE portal_applications (
    application_id        TEXT PRIMARY KEY NOT NULL,
    applicant             TEXT NOT NULL,
    subject               TEXT NOT NULL,
    service_id            TEXT NOT NULL,
    provider              TEXT NOT NULL,
    status                TEXT NOT NULL,
    record                TEXT NOT NULL,
    decision_document_id  TEXT,
    created_at_ms         INTEGER NOT NULL,
    updated_at_ms         INTEGER NOT NULL
);
CREATE INDEX portal_applications_applicant ON portal_applications (applicant);
CREATE INDEX portal_applications_provider ON portal_applications (provider, status);
-- The application file and the signed one live apart from the row, so lists and queues never
-- read through hundreds of kilobytes of PDF to reach a later column.
CREATE TABLE portal_application_files (
    application_id  TEXT PRIMARY KEY NOT NULL,
    document        BLOB,
    signed          BLOB
);
CREATE TABLE portal_inbox (
    owner           TEXT NOT NULL,
    at_ms           INTEGER NOT NULL,
    application_id  TEXT NOT NULL,
    status          TEXT NOT NULL,
    text_mn         TEXT NOT NULL,
    text_en         TEXT NOT NULL
);
CREATE INDEX portal_inbox_owner ON portal_inbox (owner, at_ms);
CREATE TABLE portal_verification_codes (
    code            TEXT PRIMARY KEY NOT NULL,
    document_id     TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    ledger_log      TEXT,
    ledger_index    INTEGER,
    salt            BLOB
);
CREATE TABLE portal_contacts (
    owner           TEXT PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL
);
CREATE TABLE office_officials (
    registration_number  TEXT PRIMARY KEY NOT NULL,
    organisation         TEXT NOT NULL,
    name                 TEXT NOT NULL
);
