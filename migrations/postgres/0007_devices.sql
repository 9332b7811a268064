-- Phones' Ed25519 keys for signing captures, and each evidence's attestation.
CREATE TABLE devices (
    username      TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    public_key    BYTEA NOT NULL,
    registered_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (username, device_id)
);
ALTER TABLE evidence ADD COLUMN attestation JSONB NOT NULL DEFAULT '{"status": "unattested"}';
