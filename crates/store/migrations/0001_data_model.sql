@sqlite -- The whole data model of the design brief, section 4, for SQLite: ids are 16-byte UUID BLOBs,
@sqlite -- times are Unix milliseconds, JSON documents are TEXT, INTEGER is 64-bit.
@postgres -- The whole data model of the design brief, section 4. Byte counts are BIGINT (64-bit).

CREATE TABLE users (
    id            {uuid} PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    quota_total   {bigint} NOT NULL CHECK (quota_total >= 0),
    quota_used    {bigint} NOT NULL DEFAULT 0 CHECK (quota_used >= 0),
    created_at    {time} NOT NULL,
    updated_at    {time} NOT NULL
);
@sqlite -- Emails are stored lower-cased; NOCASE also guards rows written by hand.
@sqlite CREATE UNIQUE INDEX users_email_key ON users (email COLLATE NOCASE);
@postgres -- Emails are stored lower-cased; the index on lower() also guards rows written by hand.
@postgres CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- One row per refresh token; every rotation of one login shares a family_id.
CREATE TABLE sessions (
    id          {uuid} PRIMARY KEY,
    family_id   {uuid} NOT NULL,
    user_id     {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    user_agent  TEXT,
    ip          TEXT,
    created_at  {time} NOT NULL,
    expires_at  {time} NOT NULL,
    rotated_at  {time},
    revoked_at  {time}
);
CREATE INDEX sessions_family_idx ON sessions (family_id);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE projects (
    id                   {uuid} PRIMARY KEY,
    user_id              {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title                TEXT NOT NULL,
    status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived', 'deleted')),
    settings             {json} NOT NULL DEFAULT '{}',
    raw_script           TEXT NOT NULL DEFAULT '',
    script_data          {json},
    shots                {json} NOT NULL DEFAULT '[]',
    extra                {json} NOT NULL DEFAULT '{}',
    merged_video_file_id {uuid},
    version              {bigint} NOT NULL DEFAULT 1,
    created_at           {time} NOT NULL,
    updated_at           {time} NOT NULL,
    deleted_at           {time}
);
CREATE INDEX projects_user_idx ON projects (user_id, updated_at DESC);

CREATE TABLE project_members (
    project_id {uuid} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),
    created_at {time} NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user_idx ON project_members (user_id);

CREATE TABLE files (
    id           {uuid} PRIMARY KEY,
    user_id      {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id   {uuid} REFERENCES projects (id) ON DELETE SET NULL,
    file_type    TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    file_size    {bigint} NOT NULL CHECK (file_size >= 0),
    sha256       TEXT,
    storage_key  TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'deleted')),
    created_at   {time} NOT NULL,
    updated_at   {time} NOT NULL,
    expires_at   {time}
);
CREATE INDEX files_user_idx ON files (user_id, status);
CREATE INDEX files_project_idx ON files (project_id);

CREATE TABLE tasks (
    id                {uuid} PRIMARY KEY,
    user_id           {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id        {uuid} REFERENCES projects (id) ON DELETE CASCADE,
    parent_id         {uuid} REFERENCES tasks (id) ON DELETE CASCADE,
    task_type         TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    priority          INTEGER NOT NULL DEFAULT 0,
    payload           {json} NOT NULL DEFAULT '{}',
    result            {json},
    progress          INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    progress_message  TEXT,
    error_code        TEXT,
    error_message     TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 3,
    run_at            {time} NOT NULL,
    locked_by         TEXT,
    locked_until      {time},
    provider          TEXT,
    provider_job_id   TEXT,
    idempotency_key   TEXT,
    cancel_requested  {bool} NOT NULL DEFAULT {false},
    created_at        {time} NOT NULL,
    updated_at        {time} NOT NULL,
    started_at        {time},
    finished_at       {time},
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX tasks_claim_idx ON tasks (status, priority DESC, run_at) WHERE status IN ('pending', 'running');
CREATE INDEX tasks_user_idx ON tasks (user_id, created_at DESC);
CREATE INDEX tasks_project_idx ON tasks (project_id, created_at DESC);

CREATE TABLE usage_events (
    id         {uuid} PRIMARY KEY,
    user_id    {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id    {uuid} REFERENCES tasks (id) ON DELETE SET NULL,
    provider   TEXT NOT NULL,
    model      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    units      {bigint} NOT NULL,
    created_at {time} NOT NULL
);
CREATE INDEX usage_events_user_idx ON usage_events (user_id, created_at);
