-- certbound SQLite schema, version 3: refresh token rotation, idle and absolute lifetimes.
ALTER TABLE refresh_tokens ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN absolute_expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN used_at INTEGER;
CREATE INDEX access_tokens_subject ON access_tokens(subject);
CREATE INDEX refresh_tokens_subject ON refresh_tokens(subject);
CREATE INDEX refresh_tokens_client ON refresh_tokens(client_id);
ALTER TABLE authorization_codes ADD COLUMN family_revoked INTEGER NOT NULL DEFAULT 0;
