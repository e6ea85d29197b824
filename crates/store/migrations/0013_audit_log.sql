-- Who generated and exported what: one row per generation that landed and per export taken,
-- kept for as long as the operator keeps the database (no foreign keys: the log outlives the
-- tasks, files and even projects it names).
CREATE TABLE audit_events (
    id          {uuid} PRIMARY KEY,
    project_id  {uuid},
    user_id     {uuid} NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('generated', 'exported')),
    subject     TEXT NOT NULL,
    detail      {json} NOT NULL,
    created_at  {time} NOT NULL
);
CREATE INDEX audit_events_project_idx ON audit_events (project_id, created_at);
