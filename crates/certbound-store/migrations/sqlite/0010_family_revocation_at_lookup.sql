-- A revoked grant (RFC 9700 §4.14.2, RFC 6749 §4.1.2: a replayed code or refresh token) is
-- recorded once, as authorization_codes.family_revoked; token look-ups join that flag (issue 9).
-- Before, revocation also marked every token row of the family, through these two indexes.
-- They served nothing else, and each token of an existing grant (every refresh) wrote a leaf
-- page of each of them per commit: the family key is old, so its entries sit anywhere in the
-- index, unlike the token keys that grow. Rows already marked revoked stay marked.
DROP INDEX access_tokens_code;
DROP INDEX refresh_tokens_code;
--
-- The grant write's rotation gate therefore reads the flag too: the trigger of migration 0009
-- again, with that one condition added.
DROP TRIGGER grant_writes_insert;
CREATE TRIGGER grant_writes_insert INSTEAD OF INSERT ON grant_writes
BEGIN
    -- Refresh: the rotated token is used, if it is unused and live, its grant included.
    UPDATE refresh_tokens SET used_at = NEW.used_at
     WHERE NEW.used_hash IS NOT NULL AND token_hash = NEW.used_hash
       AND used_at IS NULL AND revoked = 0
       AND NOT COALESCE((SELECT family_revoked FROM authorization_codes AS c
                         WHERE c.code_hash = refresh_tokens.code_hash), 0);
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
