-- What the file itself says: pixel size and EXIF, as JSON.
ALTER TABLE evidence ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
