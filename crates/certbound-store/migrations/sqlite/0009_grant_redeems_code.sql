-- Code redemption joins the one-statement grant write (issue 9): a row of grant_writes with
-- redeem = 1 marks the grant's code (family) redeemed, only if it is unredeemed and issued to
-- the access token's client, and only if that succeeded inserts the tokens; so a code
-- redemption is one group-committed write instead of two. A row with redeem = 0 behaves as in
-- migration 0008 (rotation when used_hash is set).
--
-- Each gate is an UPDATE read back by the `changes() = 1` of the statement right after it, so
-- the access token has one INSERT per gate (only one of them can apply to a row). The refresh
-- token follows the access token: it is inserted when the access token row now exists (its
-- hash is new, so it exists only if this row inserted it). The RETURNING clause the caller
-- uses is unchanged.
DROP TRIGGER grant_writes_insert;
DROP VIEW grant_writes;
CREATE VIEW grant_writes AS SELECT
    NULL AS family, NULL AS used_hash, NULL AS used_at,
    NULL AS a_token_hash, NULL AS a_client_id, NULL AS a_subject, NULL AS a_scope,
    NULL AS a_issued_at, NULL AS a_expires_at, NULL AS a_cnf, NULL AS a_revoked,
    NULL AS a_claims, NULL AS a_code_hash,
    NULL AS r_token_hash, NULL AS r_client_id, NULL AS r_subject, NULL AS r_scope,
    NULL AS r_claims, NULL AS r_cnf, NULL AS r_code_hash, NULL AS r_sid, NULL AS r_issued_at,
    NULL AS r_expires_at, NULL AS r_revoked, NULL AS r_auth_time, NULL AS r_absolute_expires_at,
    NULL AS r_used_at, NULL AS redeem;
CREATE TRIGGER grant_writes_insert INSTEAD OF INSERT ON grant_writes
BEGIN
    -- Refresh: the rotated token is used, if it is unused and live.
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
     WHERE NOT NEW.redeem AND (NEW.used_hash IS NULL OR changes() = 1);
    -- Code: redeemed, if it is unredeemed and the client's (RFC 6749 §4.1.2: at most once).
    UPDATE authorization_codes SET redeemed = 1
     WHERE NEW.redeem AND code_hash = NEW.family AND client_id = NEW.a_client_id
       AND redeemed = 0;
    INSERT INTO access_tokens (token_hash, client_id, subject, scope, issued_at, expires_at,
                               cnf, revoked, claims, code_hash)
    SELECT NEW.a_token_hash, NEW.a_client_id, NEW.a_subject, NEW.a_scope, NEW.a_issued_at,
           NEW.a_expires_at, NEW.a_cnf,
           NEW.a_revoked OR COALESCE((SELECT family_revoked FROM authorization_codes
                                      WHERE code_hash = NEW.family), 0),
           NEW.a_claims, NEW.a_code_hash
     WHERE NEW.redeem AND changes() = 1;
    INSERT INTO refresh_tokens (token_hash, client_id, subject, scope, claims, cnf, code_hash,
                                sid, issued_at, expires_at, revoked, auth_time,
                                absolute_expires_at, used_at)
    SELECT NEW.r_token_hash, NEW.r_client_id, NEW.r_subject, NEW.r_scope, NEW.r_claims,
           NEW.r_cnf, NEW.r_code_hash, NEW.r_sid, NEW.r_issued_at, NEW.r_expires_at,
           NEW.r_revoked OR COALESCE((SELECT family_revoked FROM authorization_codes
                                      WHERE code_hash = NEW.family), 0),
           NEW.r_auth_time, NEW.r_absolute_expires_at, NEW.r_used_at
     WHERE NEW.r_token_hash IS NOT NULL
       AND EXISTS (SELECT 1 FROM access_tokens WHERE token_hash = NEW.a_token_hash);
END;
