-- The kinds of a file's signals, as ',no_gps,edited,', so lists can filter on them
-- the same way in both databases.
ALTER TABLE evidence ADD COLUMN signal_kinds TEXT NOT NULL DEFAULT '';
CREATE INDEX evidence_list ON evidence (created_at DESC, id DESC);
