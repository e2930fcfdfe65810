-- certbound SQLite schema, version 5: client management (issue 7): named trust stores,
-- jwks_uri clients, RFC 7592 registration access tokens, certificate rotation.
ALTER TABLE clients ADD COLUMN trust_store TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
ALTER TABLE clients ADD COLUMN registration_token_hash BLOB;
ALTER TABLE client_certificates ADD COLUMN added_at INTEGER NOT NULL DEFAULT 0;
