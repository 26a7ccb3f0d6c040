-- Trust services: certificate authorities, the certificates they issued, every status change
-- with who and why, and the trusted list's status history.
CREATE TABLE pki_cas (
    name            TEXT PRIMARY KEY NOT NULL,
    display_name    TEXT NOT NULL,
    parent          TEXT,
    cert_der        BYTEA NOT NULL,
    key_label       TEXT NOT NULL,
    policy_oid      TEXT NOT NULL,
    ocsp_cert_der   BYTEA,
    ocsp_key_label  TEXT,
    crl_number      BIGINT NOT NULL DEFAULT 0,
    created_at_ms   BIGINT NOT NULL
);

CREATE TABLE pki_certificates (
    ca              TEXT NOT NULL REFERENCES pki_cas (name),
    serial_hex      TEXT NOT NULL,
    cert_der        BYTEA NOT NULL,
    profile         TEXT NOT NULL,
    status          TEXT NOT NULL,
    revoked_at_ms   BIGINT,
    reason          TEXT,
    issued_at_ms    BIGINT NOT NULL,
    not_after_ms    BIGINT NOT NULL,
    PRIMARY KEY (ca, serial_hex)
);
CREATE INDEX pki_certificates_status ON pki_certificates (ca, status);

CREATE TABLE pki_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ca          TEXT NOT NULL,
    serial_hex  TEXT NOT NULL,
    action      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    why         TEXT NOT NULL,
    at_ms       BIGINT NOT NULL
);
CREATE INDEX pki_events_cert ON pki_events (ca, serial_hex);

CREATE TABLE trusted_list_history (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    from_ms     BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    note        TEXT NOT NULL
);
