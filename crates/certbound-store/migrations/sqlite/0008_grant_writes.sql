-- What one code redemption or refresh issues, stored by one statement (issue 9): inserting a
-- row into this view uses the refresh token being rotated (when used_hash is set), and only if
-- that succeeded inserts the access token and then the refresh token (each `changes() = 1`
-- reads the statement before it). Both are inserted revoked when their grant (the code
-- family) was revoked meanwhile. The caller reads the outcome back with
-- `RETURNING (SELECT revoked FROM access_tokens WHERE token_hash = a_token_hash)`:
-- NULL = the rotated token was already used (nothing stored), 0 = stored, 1 = stored revoked.
CREATE VIEW grant_writes AS SELECT
    NULL AS family, NULL AS used_hash, NULL AS used_at,
    NULL AS a_token_hash, NULL AS a_client_id, NULL AS a_subject, NULL AS a_scope,
    NULL AS a_issued_at, NULL AS a_expires_at, NULL AS a_cnf, NULL AS a_revoked,
    NULL AS a_claims, NULL AS a_code_hash,
    NULL AS r_token_hash, NULL AS r_client_id, NULL AS r_subject, NULL AS r_scope,
    NULL AS r_claims, NULL AS r_cnf, NULL AS r_code_hash, NULL AS r_sid, NULL AS r_issued_at,
    NULL AS r_expires_at, NULL AS r_revoked, NULL AS r_auth_time, NULL AS r_absolute_expires_at,
    NULL AS r_used_at;
CREATE TRIGGER grant_writes_insert INSTEAD OF INSERT ON grant_writes
BEGIN
    UPDATE refresh_tokens SET used_at = NEW.used_at
     WHERE NEW.used_hash IS NOT NULL AND token_hash = NEW.used_hash
       AND used_at IS NULL AND revoked = 0;
    INSERT INTO access_tokens (token_hash, client_id, subject, scope, issued_at, expires_at,
                               cnf, revoked, claims, code_hash)
    SELECT NEW.a_token_hash, NEW.a_client_id, NEW.a_subject, NEW.a_scope, NEW.a_issued_at,
           NEW.a_expires_at, NEW.a_cnf,
           NEW.a_revoked OR COALESCE((SELECT family_revoked FROM authorization_codes
                                      WHERE code_hash = NEW.family), 0),
           NEW.a_claims, NEW.a_code_hash
     WHERE NEW.used_hash IS NULL OR changes() = 1;
    INSERT INTO refresh_tokens (token_hash, client_id, subject, scope, claims, cnf, code_hash,
                                sid, issued_at, expires_at, revoked, auth_time,
                                absolute_expires_at, used_at)
    SELECT NEW.r_token_hash, NEW.r_client_id, NEW.r_subject, NEW.r_scope, NEW.r_claims,
           NEW.r_cnf, NEW.r_code_hash, NEW.r_sid, NEW.r_issued_at, NEW.r_expires_at,
           NEW.r_revoked OR COALESCE((SELECT family_revoked FROM authorization_codes
                                      WHERE code_hash = NEW.family), 0),
           NEW.r_auth_time, NEW.r_absolute_expires_at, NEW.r_used_at
     WHERE NEW.r_token_hash IS NOT NULL AND changes() = 1;
END;
