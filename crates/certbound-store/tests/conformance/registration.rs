//! `RegistrationStore`: RFC 7591 §3 initial access tokens (uses, expiry, atomic use) and the
//! compare-and-set rotation of RFC 7592 registration access tokens.

use crate::backend::Backend;
use crate::fixtures::*;
use certbound_core::model::InitialAccessToken;
use certbound_core::secret::TokenHash;
use certbound_core::store::StoreError;

const RACERS: usize = 50;

fn assert_same_iat(back: &InitialAccessToken, want: &InitialAccessToken) {
    assert_eq!(back.id, want.id);
    assert_eq!(back.hash, want.hash, "{}: hash", want.id);
    assert_eq!(back.created_at, want.created_at, "{}: created_at", want.id);
    assert_eq!(back.expires_at, want.expires_at, "{}: expires_at", want.id);
    assert_eq!(back.uses_left, want.uses_left, "{}: uses_left", want.id);
}

pub async fn initial_access_token_round_trip_and_conflict(b: &Backend) {
    let s = b.store();
    let t = initial_access_token("abc", 2, 100);
    s.insert_initial_access_token(&t).await.unwrap();
    assert_same_iat(
        &s.find_initial_access_token(&t.hash).await.unwrap().unwrap(),
        &t,
    );
    let mut same_id = initial_access_token("other", 7, 500);
    same_id.id = "abc".into();
    assert!(
        matches!(
            s.insert_initial_access_token(&same_id).await,
            Err(StoreError::Conflict)
        ),
        "a second token with the same id must be a Conflict"
    );
    assert!(
        s.find_initial_access_token(&same_id.hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.find_initial_access_token(&TokenHash::of(b"unknown"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn initial_access_token_uses_and_expiry(b: &Backend) {
    let s = b.store();
    let t = initial_access_token("abc", 2, 100);
    s.insert_initial_access_token(&t).await.unwrap();
    assert!(
        !s.use_initial_access_token(&t.hash, 100).await.unwrap(),
        "expired at expires_at"
    );
    assert_eq!(
        s.find_initial_access_token(&t.hash)
            .await
            .unwrap()
            .unwrap()
            .uses_left,
        2,
        "a refused use takes nothing"
    );
    assert!(s.use_initial_access_token(&t.hash, 99).await.unwrap());
    assert_eq!(
        s.find_initial_access_token(&t.hash)
            .await
            .unwrap()
            .unwrap()
            .uses_left,
        1
    );
    assert!(s.use_initial_access_token(&t.hash, 99).await.unwrap());
    assert!(
        !s.use_initial_access_token(&t.hash, 99).await.unwrap(),
        "used up"
    );
    let back = s.find_initial_access_token(&t.hash).await.unwrap().unwrap();
    assert_eq!(back.uses_left, 0);
    assert!(!back.is_usable(50));
    assert!(
        !s.use_initial_access_token(&TokenHash::of(b"unknown"), 0)
            .await
            .unwrap()
    );
}

pub async fn initial_access_tokens_list_oldest_first_and_delete(b: &Backend) {
    let s = b.store();
    assert!(s.list_initial_access_tokens().await.unwrap().is_empty());
    let mut tokens = Vec::new();
    for (id, created_at) in [("zz-new", 30), ("aa-old", 10), ("mm-mid", 20)] {
        let mut t = initial_access_token(id, 3, 1_000);
        t.created_at = created_at;
        s.insert_initial_access_token(&t).await.unwrap();
        tokens.push(t);
    }
    let listed = s.list_initial_access_tokens().await.unwrap();
    assert_eq!(listed.len(), 3);
    for (back, want) in listed.iter().zip([&tokens[1], &tokens[2], &tokens[0]]) {
        assert_same_iat(back, want);
    }
    assert!(s.delete_initial_access_token("mm-mid").await.unwrap());
    assert!(!s.delete_initial_access_token("mm-mid").await.unwrap());
    assert!(
        s.find_initial_access_token(&tokens[2].hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !s.use_initial_access_token(&tokens[2].hash, 0)
            .await
            .unwrap(),
        "a deleted token is revoked"
    );
    assert_eq!(s.list_initial_access_tokens().await.unwrap().len(), 2);
}

/// Spends a token with `uses` uses by `RACERS` concurrent callers; returns the winners.
async fn race_for_uses(b: &Backend, uses: u32) -> usize {
    let t = initial_access_token("raced", uses, 1_000);
    b.store().insert_initial_access_token(&t).await.unwrap();
    let stores = [b.shared(), b.reopen().await.unwrap()];
    let hash = t.hash;
    let results = race(stores, RACERS, move |store, _| async move {
        store.use_initial_access_token(&hash, 500).await
    })
    .await;
    let winners = results
        .into_iter()
        .map(|r| r.unwrap())
        .filter(|w| *w)
        .count();
    let left = b
        .store()
        .find_initial_access_token(&hash)
        .await
        .unwrap()
        .unwrap()
        .uses_left;
    assert_eq!(left, 0, "every use is taken");
    winners
}

pub async fn initial_access_token_last_use_has_exactly_one_winner_among_50(b: &Backend) {
    assert_eq!(race_for_uses(b, 1).await, 1);
}

pub async fn initial_access_token_uses_are_not_oversold_under_concurrency(b: &Backend) {
    assert_eq!(race_for_uses(b, 5).await, 5);
}

pub async fn replace_registration_token_is_compare_and_set(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("dyn")).await.unwrap();
    s.insert_client(&bare_client("static")).await.unwrap();
    let (old, new, newer) = (TokenHash([9; 32]), TokenHash([8; 32]), TokenHash([7; 32]));
    assert!(
        !s.replace_registration_token("dyn", &new, &old)
            .await
            .unwrap(),
        "not the current token"
    );
    assert!(
        s.replace_registration_token("dyn", &old, &new)
            .await
            .unwrap()
    );
    assert!(
        !s.replace_registration_token("dyn", &old, &newer)
            .await
            .unwrap(),
        "a token is good for one rotation only"
    );
    assert_eq!(
        s.find_client("dyn")
            .await
            .unwrap()
            .unwrap()
            .registration_token_hash,
        Some(new)
    );
    assert!(
        s.replace_registration_token("dyn", &new, &newer)
            .await
            .unwrap()
    );
    assert!(
        !s.replace_registration_token("static", &old, &new)
            .await
            .unwrap(),
        "a client without a registration token"
    );
    assert_eq!(
        s.find_client("static")
            .await
            .unwrap()
            .unwrap()
            .registration_token_hash,
        None
    );
    assert!(
        !s.replace_registration_token("ghost", &old, &new)
            .await
            .unwrap()
    );
    // Nothing else of the client changed.
    let mut want = client("dyn");
    want.registration_token_hash = Some(newer);
    assert_same_client(&s.find_client("dyn").await.unwrap().unwrap(), &want);
}

pub async fn replace_registration_token_has_exactly_one_winner_among_50(b: &Backend) {
    s_insert(b).await;
    let stores = [b.shared(), b.reopen().await.unwrap()];
    let results = race(stores, RACERS, |store, i| async move {
        let new = TokenHash::of(format!("new {i}").as_bytes());
        store
            .replace_registration_token("dyn", &TokenHash([9; 32]), &new)
            .await
            .map(|won| won.then_some(new))
    })
    .await;
    let winners: Vec<TokenHash> = results.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(winners.len(), 1, "exactly one of {RACERS} rotations wins");
    assert_eq!(
        b.store()
            .find_client("dyn")
            .await
            .unwrap()
            .unwrap()
            .registration_token_hash,
        Some(winners[0]),
        "the winner's token is the current one"
    );
}

async fn s_insert(b: &Backend) {
    b.store().insert_client(&client("dyn")).await.unwrap();
}
