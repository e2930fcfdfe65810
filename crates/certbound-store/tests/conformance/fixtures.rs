//! Records with every field set (and with every optional field absent), and field-by-field
//! comparisons: the record types have no `PartialEq`, and a failure should name the field.

use certbound_core::jose::{JwsAlg, SigningKey};
use certbound_core::model::{
    AccessTokenRecord, AuthorizationCodeRecord, Client, ClientAuthMethod, Consent, GrantType,
    InitialAccessToken, RefreshTokenRecord, RegisteredCertificate, Session, TokenFormat, User,
};
use certbound_core::secret::TokenHash;
use certbound_core::store::Store;
use certbound_mtls::vectors::WSO2_SAMPLE_CERT_PEM;
use certbound_mtls::{ClientCertificate, DistinguishedName, SubjectMatch, Thumbprint};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The seed's sample certificate (reference blog).
pub fn blog_certificate() -> ClientCertificate {
    ClientCertificate::from_pem(WSO2_SAMPLE_CERT_PEM)
        .unwrap()
        .remove(0)
}

/// Another certificate (the self-signed certificate of a fresh P-256 key).
pub fn other_certificate() -> ClientCertificate {
    let key = SigningKey::generate(JwsAlg::ES256, 1_700_000_000).unwrap();
    ClientCertificate::from_der(key.cert_der().to_vec()).unwrap()
}

/// A client with every optional field set.
pub fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        name: "playground2 — ünïcode".into(),
        auth_method: ClientAuthMethod::SelfSignedTlsClientAuth,
        secret_hash: Some(TokenHash::of(format!("secret of {id}").as_bytes())),
        certificates: vec![RegisteredCertificate {
            certificate: blog_certificate(),
            added_at: 5,
        }],
        subject: Some(SubjectMatch::SubjectDn(
            "CN=Gaga,O=WSO2".parse::<DistinguishedName>().unwrap(),
        )),
        trust_store: Some("partners".into()),
        jwks_uri: Some("https://keys.example/jwks.json".into()),
        registration_token_hash: Some(TokenHash([9; 32])),
        grant_types: vec![
            GrantType::ClientCredentials,
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
        ],
        redirect_uris: vec![
            "https://app.example/cb".into(),
            "http://localhost:8080/playground2/oauth2client".into(),
        ],
        scopes: vec!["openid".into(), "profile".into(), "read:x".into()],
        bound_tokens: true,
        access_token_lifetime: Some(60),
        access_token_format: Some(TokenFormat::Jwt),
        can_introspect: true,
        created_at: 7,
    }
}

/// A client with every optional field absent and every list empty.
pub fn bare_client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        name: String::new(),
        auth_method: ClientAuthMethod::None,
        secret_hash: None,
        certificates: vec![],
        subject: None,
        trust_store: None,
        jwks_uri: None,
        registration_token_hash: None,
        grant_types: vec![],
        redirect_uris: vec![],
        scopes: vec![],
        bound_tokens: false,
        access_token_lifetime: None,
        access_token_format: None,
        can_introspect: false,
        created_at: 1,
    }
}

/// Asserts two clients are equal in every field, certificates (DER and `added_at`) included.
pub fn assert_same_client(back: &Client, want: &Client) {
    let id = &want.client_id;
    assert_eq!(back.client_id, want.client_id);
    assert_eq!(back.name, want.name, "{id}: name");
    assert_eq!(back.auth_method, want.auth_method, "{id}: auth_method");
    assert_eq!(back.secret_hash, want.secret_hash, "{id}: secret_hash");
    assert_eq!(back.subject, want.subject, "{id}: subject");
    assert_eq!(back.trust_store, want.trust_store, "{id}: trust_store");
    assert_eq!(back.jwks_uri, want.jwks_uri, "{id}: jwks_uri");
    assert_eq!(
        back.registration_token_hash, want.registration_token_hash,
        "{id}: registration_token_hash"
    );
    assert_eq!(back.grant_types, want.grant_types, "{id}: grant_types");
    assert_eq!(
        back.redirect_uris, want.redirect_uris,
        "{id}: redirect_uris"
    );
    assert_eq!(back.scopes, want.scopes, "{id}: scopes");
    assert_eq!(back.bound_tokens, want.bound_tokens, "{id}: bound_tokens");
    assert_eq!(
        back.access_token_lifetime, want.access_token_lifetime,
        "{id}: access_token_lifetime"
    );
    assert_eq!(
        back.access_token_format, want.access_token_format,
        "{id}: access_token_format"
    );
    assert_eq!(
        back.can_introspect, want.can_introspect,
        "{id}: can_introspect"
    );
    assert_eq!(back.created_at, want.created_at, "{id}: created_at");
    assert_eq!(certificates(back), certificates(want), "{id}: certificates");
}

/// (DER, added_at) of each registered certificate, in order.
pub fn certificates(c: &Client) -> Vec<(Vec<u8>, i64)> {
    c.certificates
        .iter()
        .map(|r| (r.certificate.der().to_vec(), r.added_at))
        .collect()
}

/// A user with profile claims.
pub fn user(name: &str) -> User {
    User {
        username: name.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        is_admin: false,
        claims: BTreeMap::from([
            ("email".to_owned(), format!("{name}@example.com")),
            ("name".to_owned(), "Zoë \"Q\" O'Brien".to_owned()),
        ]),
        created_at: 11,
    }
}

/// Asserts two users are equal in every field.
pub fn assert_same_user(back: &User, want: &User) {
    assert_eq!(back.username, want.username);
    assert_eq!(back.password_hash, want.password_hash, "password_hash");
    assert_eq!(back.is_admin, want.is_admin, "is_admin");
    assert_eq!(back.claims, want.claims, "claims");
    assert_eq!(back.created_at, want.created_at, "created_at");
}

/// A live access token of `client_id` for `subject`, with every optional field set.
pub fn access_token(name: &str, client_id: &str, subject: Option<&str>) -> AccessTokenRecord {
    AccessTokenRecord {
        hash: TokenHash::of(name.as_bytes()),
        client_id: client_id.into(),
        subject: subject.map(Into::into),
        scope: "openid profile".into(),
        issued_at: 1_000,
        expires_at: 4_600,
        cnf: Some(Thumbprint::of_der(name.as_bytes())),
        revoked: false,
        claims: vec!["email".into(), "name".into()],
        code: Some(TokenHash::of(b"some code")),
    }
}

/// Asserts two access token records are equal in every field.
pub fn assert_same_access_token(back: &AccessTokenRecord, want: &AccessTokenRecord) {
    assert_eq!(back.hash, want.hash);
    assert_eq!(back.client_id, want.client_id, "client_id");
    assert_eq!(back.subject, want.subject, "subject");
    assert_eq!(back.scope, want.scope, "scope");
    assert_eq!(back.issued_at, want.issued_at, "issued_at");
    assert_eq!(back.expires_at, want.expires_at, "expires_at");
    assert_eq!(back.cnf, want.cnf, "cnf");
    assert_eq!(back.revoked, want.revoked, "revoked");
    assert_eq!(back.claims, want.claims, "claims");
    assert_eq!(back.code, want.code, "code");
}

/// An authorization code of `client_id` for `username`, with every optional field set.
pub fn code(name: &str, client_id: &str, username: &str) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        hash: TokenHash::of(name.as_bytes()),
        client_id: client_id.into(),
        redirect_uri: "https://app.example/cb?x=1".into(),
        username: username.into(),
        scope: "openid email".into(),
        claims: vec!["email".into()],
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        auth_time: 990,
        sid: format!("sid-{name}"),
        amr: vec!["pwd".into(), "mfa".into()],
        issued_at: 1_000,
        expires_at: 1_060,
    }
}

/// A user's grant at a client: its code row, stored. Every token with a subject belongs to
/// one (`require_grant`); revoking the user's tokens goes through it.
pub async fn user_grant(
    s: &dyn certbound_core::store::Store,
    client_id: &str,
    username: &str,
) -> TokenHash {
    let c = code(
        &format!("grant-{client_id}-{username}"),
        client_id,
        username,
    );
    s.insert_code(&c).await.unwrap();
    c.hash
}

/// Asserts two code records are equal in every field.
pub fn assert_same_code(back: &AuthorizationCodeRecord, want: &AuthorizationCodeRecord) {
    assert_eq!(back.hash, want.hash);
    assert_eq!(back.client_id, want.client_id, "client_id");
    assert_eq!(back.redirect_uri, want.redirect_uri, "redirect_uri");
    assert_eq!(back.username, want.username, "username");
    assert_eq!(back.scope, want.scope, "scope");
    assert_eq!(back.claims, want.claims, "claims");
    assert_eq!(back.nonce, want.nonce, "nonce");
    assert_eq!(back.code_challenge, want.code_challenge, "code_challenge");
    assert_eq!(back.auth_time, want.auth_time, "auth_time");
    assert_eq!(back.sid, want.sid, "sid");
    assert_eq!(back.amr, want.amr, "amr");
    assert_eq!(back.issued_at, want.issued_at, "issued_at");
    assert_eq!(back.expires_at, want.expires_at, "expires_at");
}

/// A live refresh token of `client_id` for `subject` in the family of `code`.
pub fn refresh_token(
    name: &str,
    client_id: &str,
    subject: &str,
    code: Option<TokenHash>,
) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: TokenHash::of(name.as_bytes()),
        client_id: client_id.into(),
        subject: subject.into(),
        scope: "openid offline_access".into(),
        claims: vec!["email".into(), "name".into()],
        cnf: Some(Thumbprint::of_der(b"public client cert")),
        code,
        sid: "sid-1".into(),
        auth_time: 990,
        issued_at: 1_000,
        expires_at: 2_000,
        absolute_expires_at: 90_000,
        used_at: None,
        revoked: false,
    }
}

/// Asserts two refresh token records are equal in every field.
pub fn assert_same_refresh_token(back: &RefreshTokenRecord, want: &RefreshTokenRecord) {
    assert_eq!(back.hash, want.hash);
    assert_eq!(back.client_id, want.client_id, "client_id");
    assert_eq!(back.subject, want.subject, "subject");
    assert_eq!(back.scope, want.scope, "scope");
    assert_eq!(back.claims, want.claims, "claims");
    assert_eq!(back.cnf, want.cnf, "cnf");
    assert_eq!(back.code, want.code, "code");
    assert_eq!(back.sid, want.sid, "sid");
    assert_eq!(back.auth_time, want.auth_time, "auth_time");
    assert_eq!(back.issued_at, want.issued_at, "issued_at");
    assert_eq!(back.expires_at, want.expires_at, "expires_at");
    assert_eq!(
        back.absolute_expires_at, want.absolute_expires_at,
        "absolute_expires_at"
    );
    assert_eq!(back.used_at, want.used_at, "used_at");
    assert_eq!(back.revoked, want.revoked, "revoked");
}

/// A login session of `username`.
pub fn session(name: &str, username: &str) -> Session {
    Session {
        hash: TokenHash::of(name.as_bytes()),
        sid: format!("sid-{name}"),
        username: username.into(),
        auth_time: 1_000,
        expires_at: 30_000,
    }
}

/// A remembered consent.
pub fn consent(username: &str, client_id: &str) -> Consent {
    Consent {
        username: username.into(),
        client_id: client_id.into(),
        scopes: vec!["openid".into(), "profile".into()],
        claims: vec!["email".into()],
        created_at: 1_234,
    }
}

/// An initial access token.
pub fn initial_access_token(id: &str, uses_left: u32, expires_at: i64) -> InitialAccessToken {
    InitialAccessToken {
        id: id.into(),
        hash: TokenHash::of(format!("iat {id}").as_bytes()),
        created_at: 10,
        expires_at,
        uses_left,
    }
}

/// Whether an access token is dead (revoked or gone).
pub async fn access_token_dead(store: &dyn Store, hash: &TokenHash) -> bool {
    store
        .find_access_token(hash)
        .await
        .unwrap()
        .is_none_or(|t| t.revoked)
}

/// Whether a refresh token is dead (revoked or gone).
pub async fn refresh_token_dead(store: &dyn Store, hash: &TokenHash) -> bool {
    store
        .find_refresh_token(hash)
        .await
        .unwrap()
        .is_none_or(|t| t.revoked)
}

/// Runs `attempts` concurrent calls of `f`, alternating between two stores on the same
/// database (two connection pools, as two nodes), all released at once; returns the results.
pub async fn race<T, F, Fut>(stores: [Arc<dyn Store>; 2], attempts: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(attempts));
    let mut tasks = Vec::with_capacity(attempts);
    for i in 0..attempts {
        let call = f(Arc::clone(&stores[i % 2]), i);
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            call.await
        }));
    }
    let mut out = Vec::with_capacity(attempts);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
