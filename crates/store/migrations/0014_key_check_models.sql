-- The models the vendor listed when a user's key was last checked (`[{id, capability}]`), for
-- providers that list them: the settings page offers them, and a capability whose built-in
-- default model is not among them uses the first that is. Cleared with the rest of the check.
ALTER TABLE provider_settings ADD COLUMN check_models {json};
