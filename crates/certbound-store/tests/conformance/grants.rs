//! `GrantStore`: authorization codes (one redemption, replay detection, another client's
//! code), refresh token rotation, both under 50 concurrent attempts, and code families.

use crate::backend::Backend;
use crate::fixtures::*;
use certbound_core::secret::TokenHash;
use certbound_core::store::{CodeRedemption, GrantStored, GrantTokens, StoreError};

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
    let mut bare = refresh_token("bare", "c1", "alice", Some(TokenHash::of(b"some code")));
    bare.cnf = None;
    bare.claims = vec![];
    let mut used = refresh_token("used", "c1", "alice", Some(TokenHash::of(b"some code")));
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
    let t = refresh_token("rt", "c1", "alice", Some(TokenHash::of(b"some code")));
    s.insert_refresh_token(&t).await.unwrap();
    assert!(s.use_refresh_token(&t.hash, 1_500).await.unwrap());
    assert!(!s.use_refresh_token(&t.hash, 1_501).await.unwrap(), "used");
    let back = s.find_refresh_token(&t.hash).await.unwrap().unwrap();
    let mut want = t.clone();
    want.used_at = Some(1_500);
    assert_same_refresh_token(&back, &want);
    assert!(!back.is_active(1_500));

    let mut revoked = refresh_token("revoked", "c1", "alice", Some(TokenHash::of(b"some code")));
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
    let t = refresh_token("raced", "c1", "alice", Some(TokenHash::of(b"some code")));
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

/// The tokens a refresh of `old` issues in the family of `code`, named after `name`.
pub fn rotation(name: &str, old: &TokenHash, code: &TokenHash) -> GrantTokens {
    let mut access = access_token(&format!("at-{name}"), "c1", Some("alice"));
    access.code = Some(*code);
    GrantTokens {
        family: *code,
        rotate: Some((*old, 1_500)),
        redeem: false,
        access,
        refresh: Some(refresh_token(
            &format!("rt-{name}"),
            "c1",
            "alice",
            Some(*code),
        )),
    }
}

pub async fn store_grant_tokens_rotates_and_stores_both_or_nothing(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let c = code("family", "c1", "alice");
    s.insert_code(&c).await.unwrap();
    let old = refresh_token("rt-old", "c1", "alice", Some(c.hash));
    s.insert_refresh_token(&old).await.unwrap();

    let first = rotation("first", &old.hash, &c.hash);
    assert_eq!(
        s.store_grant_tokens(&first).await.unwrap(),
        GrantStored::Stored
    );
    let access = s.find_access_token(&first.access.hash).await.unwrap();
    assert_same_access_token(&access.expect("access token stored"), &first.access);
    let refresh = first.refresh.as_ref().unwrap();
    let back = s.find_refresh_token(&refresh.hash).await.unwrap();
    assert_same_refresh_token(&back.expect("refresh token stored"), refresh);
    let used = s.find_refresh_token(&old.hash).await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(1_500), "the old refresh token is used");

    // The same refresh token again: nothing of the second attempt is stored.
    let second = rotation("second", &old.hash, &c.hash);
    assert_eq!(
        s.store_grant_tokens(&second).await.unwrap(),
        GrantStored::AlreadyUsed
    );
    assert!(
        s.find_access_token(&second.access.hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.find_refresh_token(&second.refresh.as_ref().unwrap().hash)
            .await
            .unwrap()
            .is_none()
    );

    // A code redemption rotates nothing and may issue no refresh token.
    let mut redeemed = rotation("redeemed", &old.hash, &c.hash);
    redeemed.rotate = None;
    redeemed.refresh = None;
    assert_eq!(
        s.store_grant_tokens(&redeemed).await.unwrap(),
        GrantStored::Stored
    );
    assert!(!access_token_dead(s, &redeemed.access.hash).await);
}

pub async fn store_grant_tokens_of_a_revoked_grant_are_stored_revoked(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let c = code("revoked family", "c1", "alice");
    s.insert_code(&c).await.unwrap();
    let old = refresh_token("rt-old", "c1", "alice", Some(c.hash));
    s.insert_refresh_token(&old).await.unwrap();
    s.revoke_code_family(&c.hash).await.unwrap();
    // Revoked: the old refresh token can no longer be used.
    let late = rotation("late", &old.hash, &c.hash);
    assert_eq!(
        s.store_grant_tokens(&late).await.unwrap(),
        GrantStored::AlreadyUsed
    );
    // A redemption that won before the revocation stores its tokens revoked.
    let mut redeemed = rotation("redeemed", &old.hash, &c.hash);
    redeemed.rotate = None;
    assert_eq!(
        s.store_grant_tokens(&redeemed).await.unwrap(),
        GrantStored::FamilyRevoked
    );
    assert!(access_token_dead(s, &redeemed.access.hash).await);
    assert!(refresh_token_dead(s, &redeemed.refresh.as_ref().unwrap().hash).await);
    assert!(
        s.find_access_token(&redeemed.access.hash)
            .await
            .unwrap()
            .is_some(),
        "stored, revoked"
    );
    // Another family is untouched.
    let other = code("other family", "c1", "alice");
    s.insert_code(&other).await.unwrap();
    let mut fine = rotation("fine", &old.hash, &other.hash);
    fine.rotate = None;
    assert_eq!(
        s.store_grant_tokens(&fine).await.unwrap(),
        GrantStored::Stored
    );
    assert!(!access_token_dead(s, &fine.access.hash).await);
}

pub async fn store_grant_tokens_for_a_deleted_client_is_dangling_and_stores_nothing(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let c = code("family", "c1", "alice");
    s.insert_code(&c).await.unwrap();
    let mut t = rotation("gone", &TokenHash::of(b"unused"), &c.hash);
    t.rotate = None;
    // The refresh token, written after the access token, refers to a deleted client.
    t.refresh.as_mut().unwrap().client_id = "deleted".into();
    assert!(matches!(
        s.store_grant_tokens(&t).await,
        Err(StoreError::Dangling)
    ));
    assert!(
        s.find_access_token(&t.access.hash).await.unwrap().is_none(),
        "nothing half-written"
    );
    assert!(
        s.find_refresh_token(&t.refresh.as_ref().unwrap().hash)
            .await
            .unwrap()
            .is_none(),
        "nothing half-written"
    );
}

pub async fn store_grant_tokens_rotation_has_exactly_one_winner_among_50(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let c = code("family", "c1", "alice");
    s.insert_code(&c).await.unwrap();
    let old = refresh_token("rt-raced", "c1", "alice", Some(c.hash));
    s.insert_refresh_token(&old).await.unwrap();
    let stores = [b.shared(), b.reopen().await.unwrap()];
    let (old_hash, code_hash) = (old.hash, c.hash);
    let results = race(stores, RACERS, move |store, i| async move {
        let t = rotation(&i.to_string(), &old_hash, &code_hash);
        let stored = store.store_grant_tokens(&t).await;
        (t, stored)
    })
    .await;
    assert_one_winner(s, results, "rotations").await;
}

/// Many grants at once, as the token endpoint sends them under load (SQLite's writer stores a
/// batch of them in a few statements): each gets its own outcome, in every mix — fresh
/// rotations and redemptions stored, a second use of a used token refused, a revoked family's
/// tokens stored revoked, whether they consume nothing or redeem the grant's code — and every
/// stored row reads back field for field.
pub async fn store_grant_tokens_sent_together_each_get_their_own_outcome(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let live = code("live family", "c1", "alice");
    s.insert_code(&live).await.unwrap();
    let revoked = code("revoked family", "c1", "alice");
    s.insert_code(&revoked).await.unwrap();
    s.revoke_code_family(&revoked.hash).await.unwrap();
    let used = refresh_token("rt-used", "c1", "alice", Some(live.hash));
    s.insert_refresh_token(&used).await.unwrap();
    let first = rotation("first use", &used.hash, &live.hash);
    assert_eq!(
        s.store_grant_tokens(&first).await.unwrap(),
        GrantStored::Stored
    );

    let mut grants = Vec::new();
    for i in 0..30 {
        let t = match i % 5 {
            // A rotation of a fresh token of the live family: stored.
            0 => {
                let old = refresh_token(&format!("rt-old-{i}"), "c1", "alice", Some(live.hash));
                s.insert_refresh_token(&old).await.unwrap();
                (
                    rotation(&i.to_string(), &old.hash, &live.hash),
                    GrantStored::Stored,
                )
            }
            // The used token again: nothing stored.
            1 => (
                rotation(&i.to_string(), &used.hash, &live.hash),
                GrantStored::AlreadyUsed,
            ),
            // Tokens in the revoked family that consume nothing: stored revoked.
            2 => {
                let mut t = rotation(&i.to_string(), &used.hash, &revoked.hash);
                t.rotate = None;
                (t, GrantStored::FamilyRevoked)
            }
            // A redemption of a fresh code: stored.
            3 => {
                let c = code(&format!("fresh code {i}"), "c1", "alice");
                s.insert_code(&c).await.unwrap();
                (
                    redemption(&i.to_string(), &c.hash, "c1"),
                    GrantStored::Stored,
                )
            }
            // A redemption of a code whose grant was revoked before it (its user's grants
            // revoked, say): the code is used up and the tokens stored revoked.
            _ => {
                let c = code(&format!("revoked code {i}"), "c1", "alice");
                s.insert_code(&c).await.unwrap();
                s.revoke_code_family(&c.hash).await.unwrap();
                (
                    redemption(&i.to_string(), &c.hash, "c1"),
                    GrantStored::FamilyRevoked,
                )
            }
        };
        grants.push(t);
    }
    // All spawned before any is awaited, so the writer finds them queued together.
    let mut handles = Vec::new();
    for (t, _) in &grants {
        let store = b.shared();
        let t = GrantTokens {
            family: t.family,
            rotate: t.rotate,
            redeem: t.redeem,
            access: t.access.clone(),
            refresh: t.refresh.clone(),
        };
        handles.push(tokio::spawn(
            async move { store.store_grant_tokens(&t).await },
        ));
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.unwrap());
    }
    for ((t, expected), outcome) in grants.iter().zip(outcomes) {
        assert_eq!(&outcome.unwrap(), expected, "{}", t.access.client_id);
        let access = s.find_access_token(&t.access.hash).await.unwrap();
        let refresh = t.refresh.as_ref().unwrap();
        let back = s.find_refresh_token(&refresh.hash).await.unwrap();
        match expected {
            GrantStored::AlreadyUsed => {
                assert!(
                    access.is_none() && back.is_none(),
                    "a refused grant stores nothing"
                );
            }
            GrantStored::Stored => {
                assert_same_access_token(&access.expect("stored"), &t.access);
                assert_same_refresh_token(&back.expect("stored"), refresh);
                if t.redeem {
                    let c = s.find_code(&t.family).await.unwrap().unwrap();
                    assert!(c.redeemed, "the code is redeemed");
                } else {
                    let old = t.rotate.unwrap().0;
                    let old = s.find_refresh_token(&old).await.unwrap().unwrap();
                    assert_eq!(old.used_at, Some(1_500), "the rotated token is used");
                }
            }
            GrantStored::FamilyRevoked => {
                assert!(access.expect("stored revoked").revoked);
                assert!(back.expect("stored revoked").revoked);
                if t.redeem {
                    let c = s.find_code(&t.family).await.unwrap().unwrap();
                    assert!(c.redeemed, "the code is used up all the same");
                }
            }
        }
    }
}

/// The tokens a redemption of `code` by `client` issues, named after `name`.
fn redemption(name: &str, code: &TokenHash, client: &str) -> GrantTokens {
    let mut t = rotation(name, &TokenHash::of(b"no rotation"), code);
    t.rotate = None;
    t.redeem = true;
    t.access.client_id = client.into();
    t.refresh.as_mut().unwrap().client_id = client.into();
    t
}

pub async fn find_code_reads_the_code_and_whether_it_was_redeemed(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let c = code("found", "c1", "alice");
    s.insert_code(&c).await.unwrap();
    let found = s.find_code(&c.hash).await.unwrap().expect("stored");
    assert!(!found.redeemed);
    assert_same_code(&found.code, &c);
    s.redeem_code(&c.hash, "c1").await.unwrap();
    assert!(s.find_code(&c.hash).await.unwrap().unwrap().redeemed);
    assert!(
        s.find_code(&TokenHash::of(b"never issued"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn store_grant_tokens_redeems_the_code_once_and_only_the_clients(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    s.insert_client(&client("c2")).await.unwrap();
    let c = code("redeemed with its tokens", "c1", "alice");
    s.insert_code(&c).await.unwrap();

    // Another client cannot redeem it: nothing is stored and the code stays unredeemed.
    let thief = redemption("thief", &c.hash, "c2");
    assert_eq!(
        s.store_grant_tokens(&thief).await.unwrap(),
        GrantStored::AlreadyUsed
    );
    assert!(
        s.find_access_token(&thief.access.hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!s.find_code(&c.hash).await.unwrap().unwrap().redeemed);

    let first = redemption("first", &c.hash, "c1");
    assert_eq!(
        s.store_grant_tokens(&first).await.unwrap(),
        GrantStored::Stored
    );
    assert!(s.find_code(&c.hash).await.unwrap().unwrap().redeemed);
    let access = s.find_access_token(&first.access.hash).await.unwrap();
    assert_same_access_token(&access.expect("stored"), &first.access);
    let refresh = first.refresh.as_ref().unwrap();
    let back = s.find_refresh_token(&refresh.hash).await.unwrap();
    assert_same_refresh_token(&back.expect("stored"), refresh);

    // The code again: nothing of the second redemption is stored.
    let second = redemption("second", &c.hash, "c1");
    assert_eq!(
        s.store_grant_tokens(&second).await.unwrap(),
        GrantStored::AlreadyUsed
    );
    assert!(
        s.find_access_token(&second.access.hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.find_refresh_token(&second.refresh.as_ref().unwrap().hash)
            .await
            .unwrap()
            .is_none()
    );
    // A code redeemed on its own (a failed attempt) is no longer redeemable with tokens.
    let other = code("used up", "c1", "alice");
    s.insert_code(&other).await.unwrap();
    s.redeem_code(&other.hash, "c1").await.unwrap();
    assert_eq!(
        s.store_grant_tokens(&redemption("late", &other.hash, "c1"))
            .await
            .unwrap(),
        GrantStored::AlreadyUsed
    );
    // Unknown codes store nothing either.
    let unknown = redemption("unknown", &TokenHash::of(b"never issued"), "c1");
    assert_eq!(
        s.store_grant_tokens(&unknown).await.unwrap(),
        GrantStored::AlreadyUsed
    );
    assert!(
        s.find_access_token(&unknown.access.hash)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn store_grant_tokens_redemption_has_exactly_one_winner_among_50(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("c1")).await.unwrap();
    let c = code("raced", "c1", "alice");
    s.insert_code(&c).await.unwrap();
    let stores = [b.shared(), b.reopen().await.unwrap()];
    let code_hash = c.hash;
    let results = race(stores, RACERS, move |store, i| async move {
        let t = redemption(&i.to_string(), &code_hash, "c1");
        let stored = store.store_grant_tokens(&t).await;
        (t, stored)
    })
    .await;
    assert_one_winner(s, results, "redemptions").await;
}

/// Of raced grants, exactly one was stored with its token; every other stored nothing.
async fn assert_one_winner(
    s: &dyn certbound_core::store::Store,
    results: Vec<(GrantTokens, Result<GrantStored, StoreError>)>,
    what: &str,
) {
    let mut winners = 0;
    for (t, stored) in results {
        let found = s.find_access_token(&t.access.hash).await.unwrap().is_some();
        match stored.unwrap() {
            GrantStored::Stored => {
                winners += 1;
                assert!(found, "a winner's token is stored");
            }
            GrantStored::AlreadyUsed => assert!(!found, "a loser stores nothing"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(winners, 1, "exactly one of {RACERS} concurrent {what} wins");
}
