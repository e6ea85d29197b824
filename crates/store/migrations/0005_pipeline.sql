-- Batches find their items; pruning finds old finished tasks.
CREATE INDEX tasks_parent_idx ON tasks (parent_id);
CREATE INDEX tasks_finished_idx ON tasks (status, updated_at);

-- Claims walk these in order and stop at the first row they may take: pending tasks by
-- priority, lapsed leases by expiry, and each user's running tasks for the fairness cap.
DROP INDEX tasks_claim_idx;
CREATE INDEX tasks_pending_idx ON tasks (priority DESC, run_at, id) WHERE status = 'pending';
CREATE INDEX tasks_running_idx ON tasks (locked_until) WHERE status = 'running';
CREATE INDEX tasks_running_user_idx ON tasks (user_id, locked_until) WHERE status = 'running';

-- A user's provider settings: keys encrypted at rest (AES-256-GCM, the key's version in the
-- ciphertext so keys can be rotated), a short hint of each key for display, base URL and models.
CREATE TABLE provider_settings (
    user_id      {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT NOT NULL,
    api_key      TEXT,
    api_key_hint TEXT,
    secret_key   TEXT,
    secret_hint  TEXT,
    base_url     TEXT,
    models       {json} NOT NULL DEFAULT '{}',
    updated_at   {time} NOT NULL,
    PRIMARY KEY (user_id, provider)
);
