-- Every foreign key's child column leads an index, as in the PostgreSQL schema
-- (authorization_codes_client, sessions_username, consents_client there). Without one,
-- deleting a client or a user (ON DELETE CASCADE) and revoking a client's grants read every
-- row of the child table inside the write transaction, which holds up every token commit
-- meanwhile: codes are kept after use, so that table only grows.
CREATE INDEX authorization_codes_client ON authorization_codes(client_id);
CREATE INDEX sessions_username ON sessions(username);
CREATE INDEX consents_client ON consents(client_id);
