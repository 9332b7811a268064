-- Authenticity signals: of the file alone, and of a link against its record.
ALTER TABLE evidence ADD COLUMN signals JSONB NOT NULL DEFAULT '[]';
ALTER TABLE evidence_links ADD COLUMN signals JSONB NOT NULL DEFAULT '[]';
