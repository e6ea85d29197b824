-- Whom a user's fallback provider stood in for when it took a task's provider job
-- (`{from, from_model, reason}`), kept beside the job so a resumed attempt says it truly.
ALTER TABLE tasks ADD COLUMN provider_fallback {json};
