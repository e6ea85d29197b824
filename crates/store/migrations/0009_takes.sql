-- Every finished generation of a slot is a take: the slot's document field holds the chosen
-- take's file, earlier takes stay until pruned. `slot` is the slot's key (`keyframe/shot-1/kf-1`,
-- `clip/shot-1`, `film`); `inputs_hash` fingerprints what the take was made from (prompt and
-- reference files as the document gave them), so a take whose inputs changed reads as stale.
-- Several takes may share one file: identical bytes of one project are stored once.
CREATE TABLE takes (
    id          {uuid} PRIMARY KEY,
    project_id  {uuid} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    slot        TEXT NOT NULL,
    file_id     {uuid} NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    pinned      {bool} NOT NULL DEFAULT {false},
    made_by     {uuid} REFERENCES users (id) ON DELETE SET NULL,
    task_id     {uuid} REFERENCES tasks (id) ON DELETE SET NULL,
    provider    TEXT,
    model       TEXT,
    inputs_hash TEXT,
    cost_micros {bigint},
    currency    TEXT,
    provenance  {json} NOT NULL DEFAULT '{}',
    created_at  {time} NOT NULL
);
CREATE INDEX takes_slot_idx ON takes (project_id, slot, created_at DESC);
CREATE INDEX takes_file_idx ON takes (file_id);

-- How many unpinned takes each slot keeps (the project's `keep_takes` setting, kept beside
-- the settings document at each write, as the list's figures are), for the upkeep's pruning.
ALTER TABLE projects ADD COLUMN keep_takes INTEGER NOT NULL DEFAULT 5;

-- Identical bytes are found by their digest within a project.
CREATE INDEX files_digest_idx ON files (project_id, sha256) WHERE status = 'ready';
