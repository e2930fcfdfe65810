-- certbound SQLite schema, version 1: clients, their certificates, users, access tokens.
-- Tokens and secrets are stored only as SHA-256 hashes.
CREATE TABLE clients (
    client_id             TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    auth_method           TEXT NOT NULL,
    secret_hash           BLOB,
    subject               TEXT,
    grant_types           TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    bound_tokens          INTEGER NOT NULL,
    access_token_lifetime INTEGER,
    can_introspect        INTEGER NOT NULL,
    created_at            INTEGER NOT NULL
);
CREATE TABLE client_certificates (
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    thumbprint TEXT NOT NULL,
    der        BLOB NOT NULL,
    PRIMARY KEY (client_id, thumbprint)
);
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    is_admin      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE TABLE access_tokens (
    token_hash BLOB PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    subject    TEXT,
    scope      TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    cnf        TEXT,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX access_tokens_client ON access_tokens(client_id);
