-- Revoking a user's tokens (`certbound token revoke --user`, deleting the user) marks their
-- grants revoked and the tokens issued from them, found by their grant (access_tokens_code,
-- refresh_tokens_code) instead of by subject (issue 9). Every token with a subject is issued
-- from a grant; the stores refuse one without. The subject indexes served nothing else, and
-- each token of a grant wrote an entry into each of them at a random place when the users are
-- many. The grants are found by user through authorization_codes_username (0001).
DROP INDEX access_tokens_subject;
DROP INDEX refresh_tokens_subject;
