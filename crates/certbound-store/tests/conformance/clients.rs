//! `ClientStore`: round trips of every field, conflicts, paging, updates and the cascade of
//! a deletion.

use crate::backend::Backend;
use crate::fixtures::*;
use certbound_core::model::RegisteredCertificate;
use certbound_core::secret::TokenHash;
use certbound_core::store::{CodeRedemption, StoreError};
use certbound_mtls::SubjectMatch;
use certbound_mtls::vectors::WSO2_SAMPLE_X5T;

/// The first clients by id (at most 100: more than any of these tests stores).
async fn listed(s: &dyn certbound_core::store::Store) -> Vec<certbound_core::model::Client> {
    s.list_clients_page(None, 100).await.unwrap()
}

pub async fn round_trip_keeps_every_field(b: &Backend) {
    let s = b.store();
    let mut c = client("c1");
    c.certificates.push(RegisteredCertificate {
        certificate: other_certificate(),
        added_at: 6,
    });
    s.insert_client(&c).await.unwrap();
    let back = s.find_client("c1").await.unwrap().expect("stored client");
    assert_same_client(&back, &c);
    assert_eq!(
        back.certificates[0].thumbprint().to_base64url(),
        WSO2_SAMPLE_X5T
    );
    assert!(s.find_client("nope").await.unwrap().is_none());
    assert!(
        s.find_client("C1").await.unwrap().is_none(),
        "ids are case-sensitive"
    );
}

pub async fn round_trip_keeps_absent_optional_fields(b: &Backend) {
    let s = b.store();
    let c = bare_client("bare");
    s.insert_client(&c).await.unwrap();
    assert_same_client(&s.find_client("bare").await.unwrap().unwrap(), &c);
    assert_same_client(&listed(s).await[0], &c);
}

pub async fn every_subject_match_kind_round_trips(b: &Backend) {
    let s = b.store();
    let kinds = [
        SubjectMatch::SubjectDn("CN=client.example,OU=IAM,O=WSO2,C=SL".parse().unwrap()),
        SubjectMatch::SanDns("client.example".into()),
        SubjectMatch::SanUri("spiffe://example/client".into()),
        SubjectMatch::SanIp("2001:db8::1".parse().unwrap()),
        SubjectMatch::SanIp("192.0.2.1".parse().unwrap()),
        SubjectMatch::SanEmail("client@example.com".into()),
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        let mut c = bare_client(&format!("pki{i}"));
        c.auth_method = certbound_core::model::ClientAuthMethod::TlsClientAuth;
        c.subject = Some(kind);
        s.insert_client(&c).await.unwrap();
        assert_same_client(&s.find_client(&c.client_id).await.unwrap().unwrap(), &c);
    }
}

pub async fn certificates_are_listed_oldest_first(b: &Backend) {
    let s = b.store();
    let mut c = bare_client("rot");
    let (old, new) = (blog_certificate(), other_certificate());
    c.certificates = vec![
        RegisteredCertificate {
            certificate: new.clone(),
            added_at: 200,
        },
        RegisteredCertificate {
            certificate: old.clone(),
            added_at: 100,
        },
    ];
    s.insert_client(&c).await.unwrap();
    let back = s.find_client("rot").await.unwrap().unwrap();
    assert_eq!(
        certificates(&back),
        [(old.der().to_vec(), 100), (new.der().to_vec(), 200)],
        "rotation: the newest certificate is listed last"
    );
}

pub async fn duplicate_client_is_a_conflict(b: &Backend) {
    let s = b.store();
    let c = client("dup");
    s.insert_client(&c).await.unwrap();
    let mut other = bare_client("dup");
    other.name = "intruder".into();
    assert!(
        matches!(s.insert_client(&other).await, Err(StoreError::Conflict)),
        "a second client with the same id must be a Conflict"
    );
    assert_same_client(&s.find_client("dup").await.unwrap().unwrap(), &c);
    assert_eq!(listed(s).await.len(), 1);
}

/// Pages (the start-up checks' scan): by id, each client once, each with its own
/// certificates in registration order, however creation order and page limits fall.
pub async fn pages_cover_every_client_once_in_id_order(b: &Backend) {
    let s = b.store();
    // Created in an order unlike the ids'; certificate counts 0, 1 and 2.
    let other = other_certificate();
    for (id, created_at) in [
        ("p-e", 10),
        ("p-a", 20),
        ("p-d", 30),
        ("p-b", 40),
        ("p-c", 50),
    ] {
        let mut c = client(id);
        c.created_at = created_at;
        match id {
            "p-b" => c.certificates.clear(),
            "p-d" => c.certificates.push(RegisteredCertificate {
                certificate: other.clone(),
                added_at: 60,
            }),
            _ => {}
        }
        s.insert_client(&c).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_clients_page(after.as_deref(), 2).await.unwrap();
        assert!(page.len() <= 2, "a page holds at most the limit");
        let Some(last) = page.last() else { break };
        after = Some(last.client_id.clone());
        for c in &page {
            let expected = match c.client_id.as_str() {
                "p-b" => 0,
                "p-d" => 2,
                _ => 1,
            };
            assert_eq!(c.certificates.len(), expected, "{}", c.client_id);
        }
        seen.extend(page);
    }
    let ids: Vec<&str> = seen.iter().map(|c| c.client_id.as_str()).collect();
    assert_eq!(ids, ["p-a", "p-b", "p-c", "p-d", "p-e"]);
    let d = seen.iter().find(|c| c.client_id == "p-d").unwrap();
    assert_eq!(
        d.certificates[1].thumbprint(),
        other.thumbprint(),
        "oldest first"
    );
    assert_same_client(&seen[0], &{
        let mut a = client("p-a");
        a.created_at = 20;
        a
    });
    // A limit larger than what is left, and a start past the last id.
    assert_eq!(s.list_clients_page(Some("p-c"), 10).await.unwrap().len(), 2);
    assert!(
        s.list_clients_page(Some("p-e"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn update_replaces_fields_and_certificate_set(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("u1")).await.unwrap();
    s.insert_client(&client("u2")).await.unwrap();
    // Every field changes, optional ones to absent; the certificate set is replaced.
    let mut c = bare_client("u1");
    c.name = "renamed".into();
    c.certificates = vec![RegisteredCertificate {
        certificate: other_certificate(),
        added_at: 50,
    }];
    c.created_at = 999; // a key: must not change
    assert!(s.update_client(&c).await.unwrap());
    let back = s.find_client("u1").await.unwrap().unwrap();
    c.created_at = 7;
    assert_same_client(&back, &c);
    // And back to every field set, with two certificates.
    let mut full = client("u1");
    full.certificates.push(RegisteredCertificate {
        certificate: other_certificate(),
        added_at: 60,
    });
    assert!(s.update_client(&full).await.unwrap());
    assert_same_client(&s.find_client("u1").await.unwrap().unwrap(), &full);
    // The other client is untouched.
    assert_same_client(&s.find_client("u2").await.unwrap().unwrap(), &client("u2"));
}

pub async fn update_of_unknown_client_is_false_and_creates_nothing(b: &Backend) {
    let s = b.store();
    assert!(!s.update_client(&client("ghost")).await.unwrap());
    assert!(s.find_client("ghost").await.unwrap().is_none());
    assert!(listed(s).await.is_empty());
}

pub async fn delete_cascades_to_tokens_codes_and_consents(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("gone")).await.unwrap();
    s.insert_client(&client("kept")).await.unwrap();
    s.insert_user(&user("alice")).await.unwrap();
    for id in ["gone", "kept"] {
        s.insert_access_token(&access_token(&format!("at-{id}"), id, Some("alice")))
            .await
            .unwrap();
        s.insert_refresh_token(&refresh_token(
            &format!("rt-{id}"),
            id,
            "alice",
            Some(TokenHash::of(b"some code")),
        ))
        .await
        .unwrap();
        s.insert_code(&code(&format!("code-{id}"), id, "alice"))
            .await
            .unwrap();
        s.upsert_consent(&consent("alice", id)).await.unwrap();
    }
    assert!(s.delete_client("gone").await.unwrap());
    assert!(!s.delete_client("gone").await.unwrap(), "already deleted");
    assert!(s.find_client("gone").await.unwrap().is_none());
    assert!(access_token_dead(s, &TokenHash::of(b"at-gone")).await);
    assert!(refresh_token_dead(s, &TokenHash::of(b"rt-gone")).await);
    assert!(
        !s.use_refresh_token(&TokenHash::of(b"rt-gone"), 1_500)
            .await
            .unwrap()
    );
    assert!(matches!(
        s.redeem_code(&TokenHash::of(b"code-gone"), "gone")
            .await
            .unwrap(),
        CodeRedemption::Unknown
    ));
    assert!(s.find_consent("alice", "gone").await.unwrap().is_none());
    // The other client keeps everything.
    assert!(!access_token_dead(s, &TokenHash::of(b"at-kept")).await);
    assert!(!refresh_token_dead(s, &TokenHash::of(b"rt-kept")).await);
    assert!(s.find_consent("alice", "kept").await.unwrap().is_some());
    assert!(matches!(
        s.redeem_code(&TokenHash::of(b"code-kept"), "kept")
            .await
            .unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    // The id can be registered again, with none of the old certificates.
    s.insert_client(&bare_client("gone")).await.unwrap();
    assert!(
        s.find_client("gone")
            .await
            .unwrap()
            .unwrap()
            .certificates
            .is_empty()
    );
}

/// A store caches clients (the token endpoint's hot path); a change made through another
/// store on the same database — the CLI next to a running server, another node — must reach
/// it within the documented poll interval (100 ms), never later. Polls for up to 2 s so that a
/// slow machine does not fail the test, and fails if the change never arrives.
pub async fn changes_from_another_store_reach_the_client_cache(b: &Backend) {
    let s = b.store();
    let mut c = client("cached");
    s.insert_client(&c).await.unwrap();
    let other = b.reopen().await.unwrap();
    // Fill this store's cache (after a poll has run, so the cache is live).
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    assert_eq!(s.find_client("cached").await.unwrap().unwrap().name, c.name);
    assert_eq!(s.find_client("cached").await.unwrap().unwrap().name, c.name);

    c.name = "renamed elsewhere".into();
    assert!(other.update_client(&c).await.unwrap());
    assert!(
        eventually(|| async { s.find_client("cached").await.unwrap().unwrap().name == c.name })
            .await,
        "an update through another store is seen"
    );

    assert!(other.delete_client("cached").await.unwrap());
    assert!(
        eventually(|| async { s.find_client("cached").await.unwrap().is_none() }).await,
        "a deletion through another store is seen"
    );
}

async fn eventually<F, Fut>(check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

/// A token for a client deleted after it authenticated (the cache still held it) is refused
/// as `Dangling`, not written: a deleted client never gets a new token.
pub async fn a_token_for_a_deleted_client_is_dangling(b: &Backend) {
    let s = b.store();
    s.insert_client(&client("gone")).await.unwrap();
    assert!(s.delete_client("gone").await.unwrap());
    let t = access_token("late", "gone", None);
    assert!(matches!(
        s.insert_access_token(&t).await,
        Err(StoreError::Dangling)
    ));
    assert!(
        s.find_access_token(&TokenHash::of(b"late"))
            .await
            .unwrap()
            .is_none()
    );
}
