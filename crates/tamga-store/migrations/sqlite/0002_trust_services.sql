-- Trust services: certificate authorities, the certificates they issued, every status change
-- with who and why, and the trusted list's status history.
CREATE TABLE pki_cas (
    name            TEXT PRIMARY KEY NOT NULL,
    display_name    TEXT NOT NULL,
    parent          TEXT,
    cert_der        BLOB NOT NULL,
    key_label       TEXT NOT NULL,
    policy_oid      TEXT NOT NULL,
    ocsp_cert_der   BLOB,
    ocsp_key_label  TEXT,
    crl_number      INTEGER NOT NULL DEFAULT 0,
    created_at_ms   INTEGER NOT NULL
);

CREATE TABLE pki_certificates (
    ca              TEXT NOT NULL REFERENCES pki_cas (name),
    serial_hex      TEXT NOT NULL,
    cert_der        BLOB NOT NULL,
    profile         TEXT NOT NULL,
    status          TEXT NOT NULL,
    revoked_at_ms   INTEGER,
    reason          TEXT,
    issued_at_ms    INTEGER NOT NULL,
    not_after_ms    INTEGER NOT NULL,
    PRIMARY KEY (ca, serial_hex)
);
CREATE INDEX pki_certificates_status ON pki_certificates (ca, status);

CREATE TABLE pki_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ca          TEXT NOT NULL,
    serial_hex  TEXT NOT NULL,
    action      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    why         TEXT NOT NULL,
    at_ms       INTEGER NOT NULL
);
CREATE INDEX pki_events_cert ON pki_events (ca, serial_hex);

CREATE TABLE trusted_list_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    service     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    from_ms     INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    note        TEXT NOT NULL
);
