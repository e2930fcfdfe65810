-- Revoking a user's tokens (`certbound token revoke --user`, deleting the user) marks their
-- grants revoked (authorization_codes.family_revoked), which every token look-up joins since
-- migration 0010, instead of marking each token row through an index on its subject (issue 9).
-- Every token with a subject is issued from a grant: a code redemption or a refresh of its
-- refresh token, both of which carry the grant's key (code_hash); the stores refuse a token
-- with a subject and no grant.
--
-- The two subject indexes served nothing else, and each token of a grant wrote an entry into
-- each of them at a random place when the users are many: a leaf page per user per commit,
-- a third of a grant's SQLite time with 32 users. The grants are found by user through an
-- index on the code rows instead, written once per authorization rather than per token.
DROP INDEX access_tokens_subject;
DROP INDEX refresh_tokens_subject;
CREATE INDEX authorization_codes_username ON authorization_codes(username);
