-- Resumable multipart uploads: the upload a pending file is assembled from, and its parts so far.

ALTER TABLE files ADD COLUMN upload_id TEXT;
ALTER TABLE files ADD COLUMN part_size {bigint};

CREATE TABLE upload_parts (
    file_id     {uuid} NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL CHECK (part_number >= 1),
    size        {bigint} NOT NULL,
    etag        TEXT NOT NULL,
    created_at  {time} NOT NULL,
    PRIMARY KEY (file_id, part_number)
);
