-- A user's own prices for their own keys (a contract price, a reseller's): entries of the price
-- table's form, used before the server's table for calls made with the user's key.
ALTER TABLE provider_settings ADD COLUMN prices {json} NOT NULL DEFAULT '[]';
