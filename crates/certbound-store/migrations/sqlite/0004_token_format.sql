-- certbound SQLite schema, version 4: per-client access token format (opaque or jwt).
ALTER TABLE clients ADD COLUMN access_token_format TEXT;
