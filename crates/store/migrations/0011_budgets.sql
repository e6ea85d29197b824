-- Monthly spending caps, per currency: a user's, a project's, and the server's own keys'
-- (scope `server`, with the nil id). A cap holds what was spent this calendar month (UTC) plus
-- what unfinished work has reserved; admission reserves in the transaction that enqueues.
CREATE TABLE budgets (
    scope          TEXT NOT NULL CHECK (scope IN ('user', 'project', 'server')),
    scope_id       {uuid} NOT NULL,
    currency       TEXT NOT NULL,
    monthly_micros {bigint} NOT NULL CHECK (monthly_micros >= 0),
    updated_at     {time} NOT NULL,
    PRIMARY KEY (scope, scope_id, currency)
);

-- What queued work expects to spend, per task and currency, held while the task is unfinished;
-- once it ends, only what it really cost (its usage events) counts, so settling needs no write
-- and a restart can neither lose nor double a reservation.
CREATE TABLE budget_reservations (
    task_id     {uuid} NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    currency    TEXT NOT NULL,
    user_id     {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id  {uuid} REFERENCES projects (id) ON DELETE SET NULL,
    server_key  {bool} NOT NULL DEFAULT {false},
    micros      {bigint} NOT NULL CHECK (micros >= 0),
    created_at  {time} NOT NULL,
    PRIMARY KEY (task_id, currency)
);
CREATE INDEX budget_reservations_user_idx ON budget_reservations (user_id);
CREATE INDEX budget_reservations_project_idx ON budget_reservations (project_id);

-- Whether a call was made with one of the server's own keys (the server-wide cap counts those).
ALTER TABLE usage_events ADD COLUMN server_key {bool} NOT NULL DEFAULT {false};
-- A reservation is offset by what its task has spent so far.
CREATE INDEX usage_events_task_idx ON usage_events (task_id);
