-- Accidents are completed as the investigation goes on (the four conditions,
-- the referral, evidence), each change against the version it was read at.
ALTER TABLE accidents ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
