-- A code's redemption is a row of its own (issue 9), instead of an UPDATE of the code's row.
--
-- The code row is wide (about 250 bytes: redirect_uri, claims, PKCE challenge, ...). Codes
-- redeemed in one group commit were minted at different moments, so their rows sit on
-- different pages, and marking each redeemed rewrote a page per code: a redemption commit
-- wrote about 36 WAL frames against a refresh's 23 (strace). A redemption is now the code's
-- key appended to code_redemptions (a WITHOUT ROWID table of keys alone, about a hundred to
-- a page). Code keys grow with their issue time (migration 0004), so the redemptions of a
-- moment land together near the table's right edge.
--
-- Exactly one of concurrent redemptions still wins: the key is the primary key, and the grant
-- write inserts the tokens only when its insert added the row (changes() = 1). Deleting a code
-- (with its client) deletes its redemption. Codes redeemed before this migration keep
-- their redemption; the old flag column goes, so there is one place to look.
CREATE TABLE code_redemptions (
    code_hash BLOB PRIMARY KEY REFERENCES authorization_codes(code_hash) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO code_redemptions (code_hash)
SELECT code_hash FROM authorization_codes WHERE redeemed <> 0;
-- The trigger of migration 0010 names the column: drop it first, and create it again below
-- with the redemption gate as above (everything else is unchanged).
DROP TRIGGER grant_writes_insert;
ALTER TABLE authorization_codes DROP COLUMN redeemed;
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
    -- A second redemption of the same code inserts nothing (the primary key), so changes()
    -- reads 0 below.
    INSERT OR IGNORE INTO code_redemptions (code_hash)
    SELECT NEW.family
     WHERE NEW.redeem
       AND EXISTS (SELECT 1 FROM authorization_codes
                    WHERE code_hash = NEW.family AND client_id = NEW.a_client_id);
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
