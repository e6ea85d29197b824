-- The outcome of the last check of a user's saved provider key: when, how it went (`working`,
-- or why not: `key_refused`, `rate_limited`, `unreachable`, `refused`, `unreadable`), and the
-- vendor's words. Cleared whenever the key, secret or base URL changes.
ALTER TABLE provider_settings ADD COLUMN checked_at {time};
ALTER TABLE provider_settings ADD COLUMN check_outcome TEXT;
ALTER TABLE provider_settings ADD COLUMN check_message TEXT;
