//! `KeyStore`: signing keys, oldest first, and their retirement time.

use crate::backend::Backend;
use certbound_core::jose::{JwsAlg, SigningKey};

fn assert_same_key(back: &SigningKey, want: &SigningKey) {
    assert_eq!(back.kid(), want.kid());
    assert_eq!(back.alg(), want.alg(), "{}: alg", want.kid());
    assert_eq!(back.pkcs8(), want.pkcs8(), "{}: pkcs8", want.kid());
    assert_eq!(back.cert_der(), want.cert_der(), "{}: cert_der", want.kid());
    assert_eq!(
        back.created_at(),
        want.created_at(),
        "{}: created_at",
        want.kid()
    );
    assert_eq!(
        back.retire_at(),
        want.retire_at(),
        "{}: retire_at",
        want.kid()
    );
}

pub async fn keys_round_trip_oldest_first(b: &Backend) {
    let s = b.store();
    assert!(s.list_keys().await.unwrap().is_empty());
    let newest = SigningKey::generate(JwsAlg::ES256, 3_000).unwrap();
    let oldest = SigningKey::generate(JwsAlg::RS256, 1_000)
        .unwrap()
        .with_retire_at(Some(5_000));
    let middle = SigningKey::generate(JwsAlg::PS256, 2_000).unwrap();
    for k in [&newest, &oldest, &middle] {
        s.insert_key(k).await.unwrap();
    }
    let keys = s.list_keys().await.unwrap();
    assert_eq!(keys.len(), 3);
    for (back, want) in keys.iter().zip([&oldest, &middle, &newest]) {
        assert_same_key(back, want);
    }
}

pub async fn set_key_retire_at_sets_and_clears(b: &Backend) {
    let s = b.store();
    let one = SigningKey::generate(JwsAlg::ES256, 1_000).unwrap();
    let two = SigningKey::generate(JwsAlg::ES256, 2_000).unwrap();
    s.insert_key(&one).await.unwrap();
    s.insert_key(&two).await.unwrap();
    s.set_key_retire_at(one.kid(), Some(9_000)).await.unwrap();
    let keys = s.list_keys().await.unwrap();
    assert_same_key(&keys[0], &one.clone().with_retire_at(Some(9_000)));
    assert_same_key(&keys[1], &two);
    s.set_key_retire_at(one.kid(), None).await.unwrap();
    assert_same_key(&s.list_keys().await.unwrap()[0], &one);
    s.set_key_retire_at("unknown kid", Some(1)).await.unwrap();
    assert_eq!(s.list_keys().await.unwrap().len(), 2);
}
