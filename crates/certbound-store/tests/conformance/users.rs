//! `UserStore`: round trips, conflicts, ordering, updates, and a deletion that takes the
//! user's sessions and consents with it and kills their tokens.

use crate::backend::Backend;
use crate::fixtures::*;
use certbound_core::secret::TokenHash;
use certbound_core::store::StoreError;
use std::collections::BTreeMap;

pub async fn round_trip_keeps_every_field(b: &Backend) {
    let s = b.store();
    let mut u = user("alice");
    u.is_admin = true;
    s.insert_user(&u).await.unwrap();
    let bare = certbound_core::model::User {
        claims: BTreeMap::new(),
        ..user("bob")
    };
    s.insert_user(&bare).await.unwrap();
    assert_same_user(&s.find_user("alice").await.unwrap().unwrap(), &u);
    assert_same_user(&s.find_user("bob").await.unwrap().unwrap(), &bare);
    assert!(s.find_user("carol").await.unwrap().is_none());
    assert!(
        s.find_user("Alice").await.unwrap().is_none(),
        "names are case-sensitive"
    );
}

pub async fn duplicate_user_is_a_conflict(b: &Backend) {
    let s = b.store();
    s.insert_user(&user("alice")).await.unwrap();
    let mut again = user("alice");
    again.is_admin = true;
    assert!(
        matches!(s.insert_user(&again).await, Err(StoreError::Conflict)),
        "a second user with the same name must be a Conflict"
    );
    assert!(!s.find_user("alice").await.unwrap().unwrap().is_admin);
    assert_eq!(s.count_users().await.unwrap(), 1);
}

pub async fn count_and_list_ordered_by_name(b: &Backend) {
    let s = b.store();
    assert_eq!(s.count_users().await.unwrap(), 0);
    assert!(s.list_users().await.unwrap().is_empty());
    for name in ["carol", "alice", "bob"] {
        s.insert_user(&user(name)).await.unwrap();
    }
    assert_eq!(s.count_users().await.unwrap(), 3);
    let users = s.list_users().await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_same_user(&users[0], &user("alice"));
}

pub async fn update_replaces_password_admin_flag_and_claims(b: &Backend) {
    let s = b.store();
    s.insert_user(&user("alice")).await.unwrap();
    s.insert_user(&user("bob")).await.unwrap();
    let mut u = user("alice");
    u.password_hash = "$argon2id$new".into();
    u.is_admin = true;
    u.claims = BTreeMap::from([("given_name".to_owned(), "Al".to_owned())]);
    assert!(s.update_user(&u).await.unwrap());
    assert_same_user(&s.find_user("alice").await.unwrap().unwrap(), &u);
    assert_same_user(&s.find_user("bob").await.unwrap().unwrap(), &user("bob"));
    assert!(!s.update_user(&user("ghost")).await.unwrap());
    assert!(s.find_user("ghost").await.unwrap().is_none());
    assert_eq!(s.count_users().await.unwrap(), 2);
}

pub async fn update_user_claims_replaces_only_claims(b: &Backend) {
    let s = b.store();
    let mut u = user("alice");
    u.is_admin = true;
    s.insert_user(&u).await.unwrap();
    let claims = BTreeMap::from([
        ("email".to_owned(), "new@example.com".to_owned()),
        ("locale".to_owned(), "si-LK".to_owned()),
    ]);
    assert!(s.update_user_claims("alice", &claims).await.unwrap());
    u.claims = claims.clone();
    assert_same_user(&s.find_user("alice").await.unwrap().unwrap(), &u);
    assert!(
        s.update_user_claims("alice", &BTreeMap::new())
            .await
            .unwrap()
    );
    assert!(
        s.find_user("alice")
            .await
            .unwrap()
            .unwrap()
            .claims
            .is_empty()
    );
    assert!(!s.update_user_claims("ghost", &claims).await.unwrap());
}

pub async fn delete_removes_sessions_consents_and_kills_tokens(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    for name in ["bob", "alice"] {
        s.insert_user(&user(name)).await.unwrap();
        s.insert_session(&session(&format!("sess-{name}"), name))
            .await
            .unwrap();
        s.upsert_consent(&consent(name, "c1")).await.unwrap();
        let grant = user_grant(s, "c1", name).await;
        let mut at = access_token(&format!("at-{name}"), "c1", Some(name));
        at.code = Some(grant);
        s.insert_access_token(&at).await.unwrap();
        s.insert_refresh_token(&refresh_token(
            &format!("rt-{name}"),
            "c1",
            name,
            Some(grant),
        ))
        .await
        .unwrap();
    }
    assert!(s.delete_user("bob").await.unwrap());
    assert!(!s.delete_user("bob").await.unwrap(), "already deleted");
    assert!(s.find_user("bob").await.unwrap().is_none());
    assert_eq!(s.count_users().await.unwrap(), 1);
    assert!(
        s.find_session(&TokenHash::of(b"sess-bob"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.find_consent("bob", "c1").await.unwrap().is_none());
    assert!(
        access_token_dead(s, &TokenHash::of(b"at-bob")).await,
        "a deleted user's access tokens must stop working"
    );
    assert!(
        refresh_token_dead(s, &TokenHash::of(b"rt-bob")).await,
        "a deleted user's refresh tokens must stop working"
    );
    assert!(
        !s.use_refresh_token(&TokenHash::of(b"rt-bob"), 1_500)
            .await
            .unwrap()
    );
    // Alice keeps everything.
    assert!(
        s.find_session(&TokenHash::of(b"sess-alice"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(s.find_consent("alice", "c1").await.unwrap().is_some());
    assert!(!access_token_dead(s, &TokenHash::of(b"at-alice")).await);
    assert!(!refresh_token_dead(s, &TokenHash::of(b"rt-alice")).await);
    // The name can be used again.
    s.insert_user(&user("bob")).await.unwrap();
}
