//! `TokenStore` and the revocation methods of `GrantStore`: access token round trips,
//! single revocation, and revocation of everything of a client or a user.

use crate::backend::Backend;
use crate::fixtures::*;
use certbound_core::secret::TokenHash;
use certbound_core::store::{GrantStored, Store, StoreError};
use std::sync::Arc;

pub async fn access_token_round_trip_keeps_every_field(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let t = access_token("tok", "c1", Some("alice"));
    s.insert_access_token(&t).await.unwrap();
    assert_same_access_token(&s.find_access_token(&t.hash).await.unwrap().unwrap(), &t);
    let mut revoked = access_token("revoked-at-issue", "c1", None);
    revoked.revoked = true;
    revoked.expires_at = i64::MAX;
    s.insert_access_token(&revoked).await.unwrap();
    assert_same_access_token(
        &s.find_access_token(&revoked.hash).await.unwrap().unwrap(),
        &revoked,
    );
    assert!(
        s.find_access_token(&TokenHash::of(b"other"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn access_token_round_trip_keeps_absent_optional_fields(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let mut t = access_token("bare", "c1", None);
    t.cnf = None;
    t.code = None;
    t.claims = vec![];
    t.scope = String::new();
    s.insert_access_token(&t).await.unwrap();
    assert_same_access_token(&s.find_access_token(&t.hash).await.unwrap().unwrap(), &t);
}

pub async fn revoke_access_token_is_idempotent_and_targeted(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let (one, two) = (
        access_token("one", "c1", None),
        access_token("two", "c1", None),
    );
    s.insert_access_token(&one).await.unwrap();
    s.insert_access_token(&two).await.unwrap();
    s.revoke_access_token(&one.hash).await.unwrap();
    s.revoke_access_token(&one.hash).await.unwrap();
    s.revoke_access_token(&TokenHash::of(b"unknown"))
        .await
        .unwrap();
    let back = s.find_access_token(&one.hash).await.unwrap().unwrap();
    assert!(back.revoked);
    let mut want = one.clone();
    want.revoked = true;
    assert_same_access_token(&back, &want);
    assert!(
        !s.find_access_token(&two.hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
}

/// Client c1 and c2, users alice and bob: live and already revoked tokens of each.
async fn tokens_of_two_clients_and_two_users(s: &dyn Store) {
    for id in ["c1", "c2"] {
        s.insert_client(&client(id)).await.unwrap();
    }
    for user in ["alice", "bob"] {
        for id in ["c1", "c2"] {
            let grant = user_grant(s, id, user).await;
            let mut at = access_token(&format!("at-{id}-{user}"), id, Some(user));
            at.code = Some(grant);
            s.insert_access_token(&at).await.unwrap();
            let rt = refresh_token(&format!("rt-{id}-{user}"), id, user, Some(grant));
            s.insert_refresh_token(&rt).await.unwrap();
        }
    }
    let grant = TokenHash::of(b"grant-c1-alice");
    let mut dead = access_token("at-c1-alice-dead", "c1", Some("alice"));
    dead.code = Some(grant);
    dead.revoked = true;
    s.insert_access_token(&dead).await.unwrap();
    let mut dead = refresh_token("rt-c1-alice-dead", "c1", "alice", Some(grant));
    dead.revoked = true;
    s.insert_refresh_token(&dead).await.unwrap();
    // A client-credentials token (no subject).
    s.insert_access_token(&access_token("at-c1-cc", "c1", None))
        .await
        .unwrap();
    // Tokens of a grant revoked as a whole (a replay): dead too, so not counted either.
    let grant = code("revoked grant", "c1", "alice");
    s.insert_code(&grant).await.unwrap();
    let mut at = access_token("at-c1-alice-revoked-grant", "c1", Some("alice"));
    at.code = Some(grant.hash);
    s.insert_access_token(&at).await.unwrap();
    let rt = refresh_token("rt-c1-alice-revoked-grant", "c1", "alice", Some(grant.hash));
    s.insert_refresh_token(&rt).await.unwrap();
    s.revoke_code_family(&grant.hash).await.unwrap();
    assert!(access_token_dead(s, &at.hash).await);
    assert!(refresh_token_dead(s, &rt.hash).await);
}

async fn live(s: &dyn Store, client: &str, user: &str) -> (bool, bool) {
    let at = TokenHash::of(format!("at-{client}-{user}").as_bytes());
    let rt = TokenHash::of(format!("rt-{client}-{user}").as_bytes());
    (
        !access_token_dead(s, &at).await,
        !refresh_token_dead(s, &rt).await,
    )
}

pub async fn revoke_tokens_of_client_counts_live_tokens(b: &Backend) {
    let s = b.store();
    tokens_of_two_clients_and_two_users(s).await;
    // c1: 2 access + 2 refresh for the users, 1 client-credentials token; the dead ones
    // do not count.
    assert_eq!(s.revoke_tokens_of_client("c1").await.unwrap(), 5);
    assert_eq!(
        s.revoke_tokens_of_client("c1").await.unwrap(),
        0,
        "nothing live left"
    );
    assert_eq!(live(s, "c1", "alice").await, (false, false));
    assert_eq!(live(s, "c1", "bob").await, (false, false));
    assert!(access_token_dead(s, &TokenHash::of(b"at-c1-cc")).await);
    assert_eq!(live(s, "c2", "alice").await, (true, true));
    assert_eq!(live(s, "c2", "bob").await, (true, true));
    assert_eq!(s.revoke_tokens_of_client("nobody").await.unwrap(), 0);
    assert!(
        s.find_client("c1").await.unwrap().is_some(),
        "the client stays"
    );
}

/// A user's tokens are revoked through their grants, so the count is of grants: each of
/// alice's two live grants (one per client) counts once, whatever tokens it issued; the grant
/// revoked before (a replay) does not.
pub async fn revoke_tokens_of_user_revokes_their_live_grants(b: &Backend) {
    let s = b.store();
    tokens_of_two_clients_and_two_users(s).await;
    assert_eq!(s.revoke_tokens_of_user("alice").await.unwrap(), 2);
    assert_eq!(
        s.revoke_tokens_of_user("alice").await.unwrap(),
        0,
        "nothing live left"
    );
    assert_eq!(live(s, "c1", "alice").await, (false, false));
    assert_eq!(live(s, "c2", "alice").await, (false, false));
    assert_eq!(live(s, "c1", "bob").await, (true, true));
    assert_eq!(live(s, "c2", "bob").await, (true, true));
    assert!(!access_token_dead(s, &TokenHash::of(b"at-c1-cc")).await);
    assert_eq!(s.revoke_tokens_of_user("nobody").await.unwrap(), 0);
    // A request that redeemed alice's code before the revocation stores its tokens revoked;
    // her refresh token can no longer be rotated.
    let grant = TokenHash::of(b"grant-c1-alice");
    let rotated = crate::grants::rotation("late", &TokenHash::of(b"rt-c1-alice"), &grant);
    assert_eq!(
        s.store_grant_tokens(&rotated).await.unwrap(),
        GrantStored::AlreadyUsed
    );
    let mut redeemed = crate::grants::rotation("redeemed", &TokenHash::of(b"none"), &grant);
    redeemed.rotate = None;
    assert_eq!(
        s.store_grant_tokens(&redeemed).await.unwrap(),
        GrantStored::FamilyRevoked
    );
    assert!(access_token_dead(s, &redeemed.access.hash).await);
}

/// Every token issued for a user belongs to a grant, or it could not be revoked with the user:
/// the stores refuse one without, and store nothing.
pub async fn a_token_with_a_subject_and_no_grant_is_refused(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let mut at = access_token("orphan-at", "c1", Some("alice"));
    at.code = None;
    assert!(matches!(
        s.insert_access_token(&at).await,
        Err(StoreError::Other(_))
    ));
    assert!(s.find_access_token(&at.hash).await.unwrap().is_none());
    let rt = refresh_token("orphan-rt", "c1", "alice", None);
    assert!(matches!(
        s.insert_refresh_token(&rt).await,
        Err(StoreError::Other(_))
    ));
    assert!(s.find_refresh_token(&rt.hash).await.unwrap().is_none());
    // A client_credentials token has neither.
    let mut cc = access_token("cc-at", "c1", None);
    cc.code = None;
    s.insert_access_token(&cc).await.unwrap();
}

/// Revoking everything of a client or user also marks their grants revoked, so a token a
/// concurrent request issues from such a grant is caught by `is_family_revoked`.
pub async fn revoke_by_client_or_user_marks_their_grants_revoked(b: &Backend) {
    let s = b.store();
    for id in ["c1", "c2"] {
        s.insert_client(&client(id)).await.unwrap();
    }
    for (name, id, user) in [
        ("code-c1-alice", "c1", "alice"),
        ("code-c2-alice", "c2", "alice"),
        ("code-c2-bob", "c2", "bob"),
    ] {
        s.insert_code(&code(name, id, user)).await.unwrap();
    }
    let revoked = async |name: &str| {
        s.is_family_revoked(&TokenHash::of(name.as_bytes()))
            .await
            .unwrap()
    };
    s.revoke_tokens_of_client("c1").await.unwrap();
    assert!(revoked("code-c1-alice").await);
    assert!(!revoked("code-c2-alice").await);
    s.revoke_tokens_of_user("alice").await.unwrap();
    assert!(revoked("code-c2-alice").await);
    assert!(!revoked("code-c2-bob").await);
}

/// Concurrent inserts and look-ups (grouped into shared statements by the SQLite backend):
/// every token inserted is found, by every one of many concurrent look-ups of it, a token
/// looked up together with unknown ones is still found, and each caller gets its own record.
pub async fn concurrent_inserts_and_lookups_each_get_their_own_answer(b: &Backend) {
    let s = b.shared();
    s.insert_client(&client("c1")).await.unwrap();
    let inserts: Vec<_> = (0..64)
        .map(|i| {
            let s = std::sync::Arc::clone(&s);
            tokio::spawn(async move {
                let t = access_token(&format!("tok-{i}"), "c1", None);
                s.insert_access_token(&t).await.map(|()| t)
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for i in inserts {
        tokens.push(i.await.unwrap().unwrap());
    }
    let lookups: Vec<_> = tokens
        .iter()
        .flat_map(|t| [t.hash, t.hash, tokens[0].hash, TokenHash::of(b"unknown")])
        .map(|h| {
            let s = std::sync::Arc::clone(&s);
            tokio::spawn(async move { (h, s.find_access_token(&h).await.unwrap()) })
        })
        .collect();
    for l in lookups {
        let (asked, found) = l.await.unwrap();
        match tokens.iter().find(|t| t.hash == asked) {
            Some(t) => assert_same_access_token(&found.expect("an inserted token is found"), t),
            None => assert!(found.is_none(), "an unknown token is not found"),
        }
    }
}

/// Shutdown: `close` returns only once every write already accepted has committed (SQLite's
/// group commit drains its queue first); later writes fail, and a reopened store has every
/// write that was answered with success.
pub async fn close_commits_every_write_already_accepted(b: &Backend) {
    let s = b.shared();
    s.insert_client(&client("c1")).await.unwrap();
    let writes: Vec<_> = (0..200)
        .map(|i| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                let t = access_token(&format!("t{i}"), "c1", None);
                s.insert_access_token(&t).await.map(|()| t.hash)
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    s.close().await;
    let mut committed = Vec::new();
    for w in writes {
        if let Ok(hash) = w.await.unwrap() {
            committed.push(hash);
        }
    }
    assert!(!committed.is_empty(), "some writes came before the close");
    assert!(
        s.insert_access_token(&access_token("late", "c1", None))
            .await
            .is_err(),
        "a closed store refuses writes"
    );
    let again = b.reopen().await.unwrap();
    for hash in &committed {
        assert!(
            again.find_access_token(hash).await.unwrap().is_some(),
            "a write answered with success before the close was lost"
        );
    }
}
