-- Who made a project's latest change (no one: a generation), and earlier versions of its
-- documents, kept when a person's change replaced them, so a creator can see who changed what
-- and bring an earlier version back. Figures for the history list are kept beside each version
-- so the list never parses the documents. They come before the documents in each row: SQLite
-- reads a row's columns in order, and one after a large document is reached only by walking its
-- overflow pages.

ALTER TABLE projects ADD COLUMN updated_by {uuid} REFERENCES users (id) ON DELETE SET NULL;

CREATE TABLE project_revisions (
    project_id      {uuid} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version         {bigint} NOT NULL,
    made_by         {uuid} REFERENCES users (id) ON DELETE SET NULL,
    made_at         {time} NOT NULL,
    replaced_by     {uuid} REFERENCES users (id) ON DELETE SET NULL,
    replaced_at     {time} NOT NULL,
    shot_count      {bigint} NOT NULL,
    character_count {bigint} NOT NULL,
    scene_count     {bigint} NOT NULL,
    script_chars    {bigint} NOT NULL,
    raw_script      TEXT NOT NULL,
    script_data     {json},
    shots           {json} NOT NULL,
    PRIMARY KEY (project_id, version)
);
CREATE INDEX project_revisions_replaced_idx ON project_revisions (replaced_at);
