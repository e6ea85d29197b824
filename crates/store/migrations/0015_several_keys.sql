-- Several keys per provider (the plan's rotation over several accounts). `extra_keys` holds the
-- keys after the first, each sealed as the first is: `[{api_key, api_key_hint, secret_key,
-- secret_hint}]`; calls spread over every key that is not parked.
ALTER TABLE provider_settings ADD COLUMN extra_keys {json} NOT NULL DEFAULT '[]';

-- Keys a vendor refused (the key itself, or an account out of money or quota), skipped until
-- their owner saves the provider's settings again. `owner` is a user's id, or `server` for the
-- operator's keys; `fingerprint` is a hash of the key, never the key.
CREATE TABLE parked_keys (
    owner       TEXT NOT NULL,
    provider    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('key_refused', 'out_of_credit')),
    message     TEXT,
    parked_at   {time} NOT NULL,
    PRIMARY KEY (owner, provider, fingerprint)
);
