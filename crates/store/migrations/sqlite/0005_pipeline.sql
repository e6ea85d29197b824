-- Batches find their items; pruning finds old finished tasks.
CREATE INDEX tasks_parent_idx ON tasks (parent_id);
CREATE INDEX tasks_finished_idx ON tasks (status, updated_at);

-- A user's provider settings: keys encrypted at rest (AES-256-GCM, the key's version in the
-- ciphertext so keys can be rotated), a short hint of each key for display, base URL and models.
CREATE TABLE provider_settings (
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT NOT NULL,
    api_key      TEXT,
    api_key_hint TEXT,
    secret_key   TEXT,
    secret_hint  TEXT,
    base_url     TEXT,
    models       TEXT NOT NULL DEFAULT '{}',
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, provider)
);
