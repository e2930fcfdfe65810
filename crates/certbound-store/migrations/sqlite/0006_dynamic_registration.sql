-- certbound SQLite schema, version 6: dynamic client registration (issue 7): RFC 7591 §3
-- initial access tokens, created by the operator and stored by SHA-256 hash only.
CREATE TABLE initial_access_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    uses_left   INTEGER NOT NULL
);
