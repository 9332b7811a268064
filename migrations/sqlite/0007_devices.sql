-- Phones' Ed25519 keys for signing captures, and each evidence's attestation.
CREATE TABLE devices (
    username      TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    public_key    BLOB NOT NULL,
    registered_at TEXT NOT NULL,
    PRIMARY KEY (username, device_id)
);
ALTER TABLE evidence ADD COLUMN attestation TEXT NOT NULL DEFAULT '{"status": "unattested"}';
