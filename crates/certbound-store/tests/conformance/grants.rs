//! `GrantStore`: authorization codes (one redemption, replay detection, another client's
//! code), refresh token rotation, both under 50 concurrent attempts, and code families.

use crate::backend::Backend;
use crate::fixtures::*;
use certbound_core::secret::TokenHash;
use certbound_core::store::CodeRedemption;

const RACERS: usize = 50;

pub async fn code_round_trip_keeps_every_field(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let full = code("full", "c1", "alice");
    let mut bare = code("bare", "c1", "alice");
    bare.nonce = None;
    bare.code_challenge = None;
    bare.claims = vec![];
    bare.amr = vec![];
    for c in [&full, &bare] {
        s.insert_code(c).await.unwrap();
        match s.redeem_code(&c.hash, "c1").await.unwrap() {
            CodeRedemption::Redeemed(back) => assert_same_code(&back, c),
            other => panic!("first redemption: {other:?}"),
        }
        match s.redeem_code(&c.hash, "c1").await.unwrap() {
            CodeRedemption::AlreadyUsed(back) => assert_same_code(&back, c),
            other => panic!("second redemption: {other:?}"),
        }
    }
}

pub async fn redeem_code_once_then_already_used(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let (one, two) = (code("one", "c1", "alice"), code("two", "c1", "alice"));
    s.insert_code(&one).await.unwrap();
    s.insert_code(&two).await.unwrap();
    assert!(matches!(
        s.redeem_code(&one.hash, "c1").await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    for _ in 0..2 {
        assert!(matches!(
            s.redeem_code(&one.hash, "c1").await.unwrap(),
            CodeRedemption::AlreadyUsed(_)
        ));
    }
    // Redeeming one code leaves the other alone.
    assert!(matches!(
        s.redeem_code(&two.hash, "c1").await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    assert!(matches!(
        s.redeem_code(&TokenHash::of(b"never issued"), "c1")
            .await
            .unwrap(),
        CodeRedemption::Unknown
    ));
}

pub async fn another_clients_code_reads_unknown_and_is_left_untouched(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("owner")).await.unwrap();
    s.insert_client(&client("thief")).await.unwrap();
    let c = code("stolen", "owner", "alice");
    s.insert_code(&c).await.unwrap();
    for _ in 0..3 {
        assert!(
            matches!(
                s.redeem_code(&c.hash, "thief").await.unwrap(),
                CodeRedemption::Unknown
            ),
            "another client's code must read as Unknown"
        );
    }
    assert!(
        matches!(
            s.redeem_code(&c.hash, "owner").await.unwrap(),
            CodeRedemption::Redeemed(_)
        ),
        "a thief's attempts must not burn the code"
    );
    assert!(matches!(
        s.redeem_code(&c.hash, "thief").await.unwrap(),
        CodeRedemption::Unknown
    ));
}

pub async fn redeem_code_has_exactly_one_winner_among_50(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let c = code("raced", "c1", "alice");
    s.insert_code(&c).await.unwrap();
    let stores = [b.shared(), b.reopen().await.unwrap()];
    let hash = c.hash;
    let results = race(stores, RACERS, move |store, _| async move {
        store.redeem_code(&hash, "c1").await
    })
    .await;
    let (mut redeemed, mut used, mut other) = (0, 0, Vec::new());
    for r in results {
        match r {
            Ok(CodeRedemption::Redeemed(_)) => redeemed += 1,
            Ok(CodeRedemption::AlreadyUsed(_)) => used += 1,
            r => other.push(format!("{r:?}")),
        }
    }
    assert!(other.is_empty(), "unexpected outcomes: {other:?}");
    assert_eq!(
        (redeemed, used),
        (1, RACERS - 1),
        "exactly one of {RACERS} concurrent redemptions wins"
    );
}

pub async fn refresh_token_round_trip_keeps_every_field(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let full = refresh_token("full", "c1", "alice", Some(TokenHash::of(b"the code")));
    let mut bare = refresh_token("bare", "c1", "alice", None);
    bare.cnf = None;
    bare.claims = vec![];
    let mut used = refresh_token("used", "c1", "alice", None);
    used.used_at = Some(1_500);
    used.revoked = true;
    for t in [&full, &bare, &used] {
        s.insert_refresh_token(t).await.unwrap();
        assert_same_refresh_token(&s.find_refresh_token(&t.hash).await.unwrap().unwrap(), t);
    }
    assert!(
        s.find_refresh_token(&TokenHash::of(b"unknown"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn use_refresh_token_once_and_never_when_revoked(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let t = refresh_token("rt", "c1", "alice", None);
    s.insert_refresh_token(&t).await.unwrap();
    assert!(s.use_refresh_token(&t.hash, 1_500).await.unwrap());
    assert!(!s.use_refresh_token(&t.hash, 1_501).await.unwrap(), "used");
    let back = s.find_refresh_token(&t.hash).await.unwrap().unwrap();
    let mut want = t.clone();
    want.used_at = Some(1_500);
    assert_same_refresh_token(&back, &want);
    assert!(!back.is_active(1_500));

    let mut revoked = refresh_token("revoked", "c1", "alice", None);
    revoked.revoked = true;
    s.insert_refresh_token(&revoked).await.unwrap();
    assert!(!s.use_refresh_token(&revoked.hash, 1_500).await.unwrap());
    assert_eq!(
        s.find_refresh_token(&revoked.hash)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        None,
        "a refused use leaves the token as it was"
    );
    assert!(
        !s.use_refresh_token(&TokenHash::of(b"unknown"), 1_500)
            .await
            .unwrap()
    );
}

pub async fn use_refresh_token_has_exactly_one_winner_among_50(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let t = refresh_token("raced", "c1", "alice", None);
    s.insert_refresh_token(&t).await.unwrap();
    let stores = [b.shared(), b.reopen().await.unwrap()];
    let hash = t.hash;
    let results = race(stores, RACERS, move |store, i| async move {
        store.use_refresh_token(&hash, 2_000 + i as i64).await
    })
    .await;
    let mut winners = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        if r.unwrap_or_else(|e| panic!("attempt {i}: {e}")) {
            winners.push(2_000 + i as i64);
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {RACERS} concurrent uses wins"
    );
    let back = s.find_refresh_token(&hash).await.unwrap().unwrap();
    assert_eq!(back.used_at, Some(winners[0]), "used_at is the winner's");
}

pub async fn revoke_code_family_revokes_only_that_family(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let (replayed, other) = (
        code("replayed", "c1", "alice"),
        code("other", "c1", "alice"),
    );
    for c in [&replayed, &other] {
        s.insert_code(c).await.unwrap();
        let name = if c.hash == replayed.hash {
            "replayed"
        } else {
            "other"
        };
        let mut at = access_token(&format!("at-{name}"), "c1", Some("alice"));
        at.code = Some(c.hash);
        s.insert_access_token(&at).await.unwrap();
        s.insert_refresh_token(&refresh_token(
            &format!("rt-{name}"),
            "c1",
            "alice",
            Some(c.hash),
        ))
        .await
        .unwrap();
    }
    assert!(!s.is_family_revoked(&replayed.hash).await.unwrap());
    assert!(matches!(
        s.redeem_code(&replayed.hash, "c1").await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    s.revoke_code_family(&replayed.hash).await.unwrap();
    s.revoke_code_family(&replayed.hash).await.unwrap();
    assert!(s.is_family_revoked(&replayed.hash).await.unwrap());
    assert!(access_token_dead(s, &TokenHash::of(b"at-replayed")).await);
    assert!(refresh_token_dead(s, &TokenHash::of(b"rt-replayed")).await);
    assert!(
        !s.use_refresh_token(&TokenHash::of(b"rt-replayed"), 1_500)
            .await
            .unwrap()
    );
    assert!(!s.is_family_revoked(&other.hash).await.unwrap());
    assert!(!access_token_dead(s, &TokenHash::of(b"at-other")).await);
    assert!(!refresh_token_dead(s, &TokenHash::of(b"rt-other")).await);
    assert!(
        !s.is_family_revoked(&TokenHash::of(b"never issued"))
            .await
            .unwrap()
    );
    s.revoke_code_family(&TokenHash::of(b"never issued"))
        .await
        .unwrap();
}
