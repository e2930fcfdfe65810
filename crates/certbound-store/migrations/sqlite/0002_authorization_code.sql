-- certbound SQLite schema, version 2: the authorization code flow and OpenID Connect.
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';
ALTER TABLE access_tokens ADD COLUMN claims TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN code_hash BLOB;
CREATE INDEX access_tokens_code ON access_tokens(code_hash);

CREATE TABLE authorization_codes (
    code_hash      BLOB PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    username       TEXT NOT NULL,
    scope          TEXT NOT NULL,
    claims         TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    auth_time      INTEGER NOT NULL,
    sid            TEXT NOT NULL,
    amr            TEXT NOT NULL,
    issued_at      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    redeemed       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    claims     TEXT NOT NULL,
    cnf        TEXT,
    code_hash  BLOB,
    sid        TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_code ON refresh_tokens(code_hash);

CREATE TABLE sessions (
    session_hash BLOB PRIMARY KEY,
    sid          TEXT NOT NULL,
    username     TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    auth_time    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE TABLE consents (
    username   TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    claims     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (username, client_id)
);

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    alg        TEXT NOT NULL,
    pkcs8      BLOB NOT NULL,
    cert_der   BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    retire_at  INTEGER
);
