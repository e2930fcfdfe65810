-- certbound PostgreSQL schema, version 1: the whole schema of SQLite versions 1-6 in one file
-- (no PostgreSQL deployment predates it). Later changes get their own NNNN_*.sql files, in the
-- same order as the SQLite ones where both backends change.
-- Tokens, codes and secrets are stored only as SHA-256 hashes (BYTEA); times are Unix seconds.
CREATE TABLE clients (
    client_id               TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    auth_method             TEXT NOT NULL,
    secret_hash             BYTEA,
    subject                 TEXT,
    grant_types             TEXT NOT NULL,
    scopes                  TEXT NOT NULL,
    bound_tokens            BOOLEAN NOT NULL,
    access_token_lifetime   BIGINT,
    can_introspect          BOOLEAN NOT NULL,
    created_at              BIGINT NOT NULL,
    redirect_uris           TEXT NOT NULL DEFAULT '',
    access_token_format     TEXT,
    trust_store             TEXT,
    jwks_uri                TEXT,
    registration_token_hash BYTEA
);

CREATE TABLE client_certificates (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    thumbprint TEXT NOT NULL,
    der        BYTEA NOT NULL,
    added_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, thumbprint)
);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    is_admin      BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    claims        TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE access_tokens (
    token_hash BYTEA PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    subject    TEXT,
    scope      TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    cnf        TEXT,
    revoked    BOOLEAN NOT NULL DEFAULT false,
    claims     TEXT NOT NULL DEFAULT '',
    code_hash  BYTEA
);
CREATE INDEX access_tokens_client ON access_tokens(client_id);
CREATE INDEX access_tokens_code ON access_tokens(code_hash);
CREATE INDEX access_tokens_subject ON access_tokens(subject);

CREATE TABLE authorization_codes (
    code_hash      BYTEA PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    username       TEXT NOT NULL,
    scope          TEXT NOT NULL,
    claims         TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    auth_time      BIGINT NOT NULL,
    sid            TEXT NOT NULL,
    amr            TEXT NOT NULL,
    issued_at      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    redeemed       BOOLEAN NOT NULL DEFAULT false,
    family_revoked BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX authorization_codes_client ON authorization_codes(client_id);
CREATE INDEX authorization_codes_username ON authorization_codes(username);

CREATE TABLE refresh_tokens (
    token_hash          BYTEA PRIMARY KEY,
    client_id           TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    subject             TEXT NOT NULL,
    scope               TEXT NOT NULL,
    claims              TEXT NOT NULL,
    cnf                 TEXT,
    code_hash           BYTEA,
    sid                 TEXT NOT NULL,
    issued_at           BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    revoked             BOOLEAN NOT NULL DEFAULT false,
    auth_time           BIGINT NOT NULL DEFAULT 0,
    absolute_expires_at BIGINT NOT NULL DEFAULT 0,
    used_at             BIGINT
);
CREATE INDEX refresh_tokens_code ON refresh_tokens(code_hash);
CREATE INDEX refresh_tokens_subject ON refresh_tokens(subject);
CREATE INDEX refresh_tokens_client ON refresh_tokens(client_id);

CREATE TABLE sessions (
    session_hash BYTEA PRIMARY KEY,
    sid          TEXT NOT NULL,
    username     TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    auth_time    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_username ON sessions(username);

CREATE TABLE consents (
    username   TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    claims     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (username, client_id)
);
CREATE INDEX consents_client ON consents(client_id);

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    alg        TEXT NOT NULL,
    pkcs8      BYTEA NOT NULL,
    cert_der   BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    retire_at  BIGINT
);

CREATE TABLE initial_access_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    uses_left   BIGINT NOT NULL
);
