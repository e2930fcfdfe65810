//! `SessionStore`: login sessions and remembered consents.

use crate::backend::Backend;
use crate::fixtures::*;
use certbound_core::secret::TokenHash;

pub async fn session_round_trip_and_delete(b: &Backend) {
    let s = b.store();
    s.insert_user(&user("alice")).await.unwrap();
    let (one, two) = (session("one", "alice"), session("two", "alice"));
    s.insert_session(&one).await.unwrap();
    s.insert_session(&two).await.unwrap();
    let back = s.find_session(&one.hash).await.unwrap().unwrap();
    assert_eq!(back.hash, one.hash);
    assert_eq!(back.sid, one.sid);
    assert_eq!(back.username, one.username);
    assert_eq!(back.auth_time, one.auth_time);
    assert_eq!(back.expires_at, one.expires_at);
    assert!(
        s.find_session(&TokenHash::of(b"unknown"))
            .await
            .unwrap()
            .is_none()
    );
    s.delete_session(&one.hash).await.unwrap();
    s.delete_session(&one.hash).await.unwrap();
    assert!(s.find_session(&one.hash).await.unwrap().is_none());
    assert!(s.find_session(&two.hash).await.unwrap().is_some());
}

pub async fn consent_upsert_replaces_and_delete_reports(b: &Backend) {
    let s = b.store();
    s.insert_user(&user("alice")).await.unwrap();
    s.insert_user(&user("bob")).await.unwrap();
    s.insert_client(&client("c1")).await.unwrap();
    s.insert_client(&client("c2")).await.unwrap();
    assert_eq!(s.find_consent("alice", "c1").await.unwrap(), None);
    let first = consent("alice", "c1");
    s.upsert_consent(&first).await.unwrap();
    s.upsert_consent(&consent("bob", "c1")).await.unwrap();
    s.upsert_consent(&consent("alice", "c2")).await.unwrap();
    assert_eq!(s.find_consent("alice", "c1").await.unwrap(), Some(first));
    let replaced = certbound_core::model::Consent {
        scopes: vec!["openid".into()],
        claims: vec![],
        created_at: 5_000,
        ..consent("alice", "c1")
    };
    s.upsert_consent(&replaced).await.unwrap();
    assert_eq!(s.find_consent("alice", "c1").await.unwrap(), Some(replaced));
    assert!(s.delete_consent("alice", "c1").await.unwrap());
    assert!(!s.delete_consent("alice", "c1").await.unwrap());
    assert_eq!(s.find_consent("alice", "c1").await.unwrap(), None);
    assert_eq!(
        s.find_consent("bob", "c1").await.unwrap(),
        Some(consent("bob", "c1"))
    );
    assert_eq!(
        s.find_consent("alice", "c2").await.unwrap(),
        Some(consent("alice", "c2"))
    );
}

/// The authorize request's one read: the user with their consent for one client, never
/// another client's, and the user alone when there is no consent.
pub async fn find_user_with_consent_reads_both_in_one(b: &Backend) {
    let s = b.store();
    let alice = user("alice");
    s.insert_user(&alice).await.unwrap();
    s.insert_user(&user("bob")).await.unwrap();
    s.insert_client(&client("c1")).await.unwrap();
    s.insert_client(&client("c2")).await.unwrap();
    s.upsert_consent(&consent("alice", "c1")).await.unwrap();
    s.upsert_consent(&consent("bob", "c2")).await.unwrap();

    let (u, c) = s
        .find_user_with_consent("alice", "c1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.username, alice.username);
    assert_eq!(u.password_hash, alice.password_hash);
    assert_eq!(u.is_admin, alice.is_admin);
    assert_eq!(u.claims, alice.claims);
    assert_eq!(u.created_at, alice.created_at);
    assert_eq!(c, Some(consent("alice", "c1")));
    // bob's consent for c2 is not alice's.
    let (u, c) = s
        .find_user_with_consent("alice", "c2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.username, "alice");
    assert_eq!(c, None);
    assert!(
        s.find_user_with_consent("nobody", "c1")
            .await
            .unwrap()
            .is_none()
    );
    let (_, c) = s
        .find_user_with_consent("bob", "c2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c, Some(consent("bob", "c2")));
}
