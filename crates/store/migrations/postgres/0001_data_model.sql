-- The whole data model of the design brief, section 4. Byte counts are BIGINT (64-bit).

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    quota_total   BIGINT NOT NULL CHECK (quota_total >= 0),
    quota_used    BIGINT NOT NULL DEFAULT 0 CHECK (quota_used >= 0),
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
-- Emails are stored lower-cased; the index on lower() also guards rows written by hand.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- One row per refresh token; every rotation of one login shares a family_id.
CREATE TABLE sessions (
    id          UUID PRIMARY KEY,
    family_id   UUID NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    user_agent  TEXT,
    ip          TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    rotated_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX sessions_family_idx ON sessions (family_id);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE projects (
    id                   UUID PRIMARY KEY,
    user_id              UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title                TEXT NOT NULL,
    status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived', 'deleted')),
    settings             JSONB NOT NULL DEFAULT '{}',
    raw_script           TEXT NOT NULL DEFAULT '',
    script_data          JSONB,
    shots                JSONB NOT NULL DEFAULT '[]',
    extra                JSONB NOT NULL DEFAULT '{}',
    merged_video_file_id UUID,
    version              BIGINT NOT NULL DEFAULT 1,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    deleted_at           TIMESTAMPTZ
);
CREATE INDEX projects_user_idx ON projects (user_id, updated_at DESC);

CREATE TABLE project_members (
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user_idx ON project_members (user_id);

CREATE TABLE files (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id   UUID REFERENCES projects (id) ON DELETE SET NULL,
    file_type    TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    file_size    BIGINT NOT NULL CHECK (file_size >= 0),
    sha256       TEXT,
    storage_key  TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'deleted')),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ
);
CREATE INDEX files_user_idx ON files (user_id, status);
CREATE INDEX files_project_idx ON files (project_id);

CREATE TABLE tasks (
    id                UUID PRIMARY KEY,
    user_id           UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id        UUID REFERENCES projects (id) ON DELETE CASCADE,
    parent_id         UUID REFERENCES tasks (id) ON DELETE CASCADE,
    task_type         TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    priority          INTEGER NOT NULL DEFAULT 0,
    payload           JSONB NOT NULL DEFAULT '{}',
    result            JSONB,
    progress          INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    progress_message  TEXT,
    error_code        TEXT,
    error_message     TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 3,
    run_at            TIMESTAMPTZ NOT NULL,
    locked_by         TEXT,
    locked_until      TIMESTAMPTZ,
    provider          TEXT,
    provider_job_id   TEXT,
    idempotency_key   TEXT,
    cancel_requested  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    started_at        TIMESTAMPTZ,
    finished_at       TIMESTAMPTZ,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX tasks_claim_idx ON tasks (status, priority DESC, run_at) WHERE status IN ('pending', 'running');
CREATE INDEX tasks_user_idx ON tasks (user_id, created_at DESC);
CREATE INDEX tasks_project_idx ON tasks (project_id, created_at DESC);

CREATE TABLE usage_events (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id    UUID REFERENCES tasks (id) ON DELETE SET NULL,
    provider   TEXT NOT NULL,
    model      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    units      BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX usage_events_user_idx ON usage_events (user_id, created_at);
