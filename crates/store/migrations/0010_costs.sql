-- What each provider call cost, from the vendor's reported usage where it gives one, else the
-- price table, in the price's own currency (never converted), and the project it was for, so
-- spending can be summed by project, day, provider and model.
ALTER TABLE usage_events ADD COLUMN project_id {uuid} REFERENCES projects (id) ON DELETE SET NULL;
ALTER TABLE usage_events ADD COLUMN cost_micros {bigint};
ALTER TABLE usage_events ADD COLUMN currency TEXT;
CREATE INDEX usage_events_project_idx ON usage_events (project_id, created_at);
