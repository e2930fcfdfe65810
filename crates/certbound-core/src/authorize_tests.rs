//! Unit tests of authorization request validation and the sign-in / consent decisions, with a
//! memory store and a fixed clock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::model::{ClientAuthMethod, GrantType};
use crate::registration::{ClientSpec, build_client, build_user_with_claims};
use crate::testing;

const NOW: i64 = 1_800_000_000;
const REDIRECT: &str = "http://localhost:8080/playground2/oauth2client";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn setup(method: ClientAuthMethod) -> (AuthServer, String) {
    let (server, _) = testing::server(NOW);
    let mut spec = ClientSpec::new("playground2", method);
    spec.grant_types = vec![GrantType::AuthorizationCode];
    spec.redirect_uris = vec![REDIRECT.into(), "https://app.example/cb?x=1".into()];
    let (client, _) = build_client(spec, &crate::OsRandom, NOW).unwrap();
    server.store.insert_client(&client).await.unwrap();
    let claims = [("email", "alice@example.com"), ("given_name", "Alice")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let user = build_user_with_claims(
        "alice",
        &Secret::new("pw"),
        false,
        claims,
        &crate::OsRandom,
        NOW,
    )
    .unwrap();
    server.store.insert_user(&user).await.unwrap();
    (server, client.client_id)
}

fn query(client_id: &str, extra: &str) -> String {
    format!(
        "response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile%20email&state=s%201&nonce=n{extra}",
        encode(REDIRECT)
    )
}

fn session(auth_time: i64) -> Session {
    Session {
        hash: Secret::new("cookie").hash(),
        sid: "sid".into(),
        username: "alice".into(),
        auth_time,
        expires_at: NOW + 3600,
    }
}

fn redirect_error(e: AuthorizeError) -> String {
    match e {
        AuthorizeError::Redirect(r) => r.location(),
        AuthorizeError::Page(p) => panic!("expected a redirect, got a page: {p}"),
    }
}

#[tokio::test]
async fn unknown_client_or_redirect_uri_is_a_page_never_a_redirect() {
    let (server, id) = setup(ClientAuthMethod::ClientSecretBasic).await;
    for q in [
        query("nobody", ""),
        query(&id, "").replace(&encode(REDIRECT), &encode("https://evil.example/cb")),
        query(&id, "").replace(&encode(REDIRECT), &encode(&format!("{REDIRECT}/x"))),
        format!("response_type=code&client_id={id}"),
        format!("{}&client_id={id}", query(&id, "")),
    ] {
        let e = AuthorizationRequest::parse(&server, &q).await.unwrap_err();
        assert!(matches!(e, AuthorizeError::Page(_)), "{q}");
    }
}

#[tokio::test]
async fn other_errors_redirect_with_state() {
    let (server, id) = setup(ClientAuthMethod::ClientSecretBasic).await;
    let e = AuthorizationRequest::parse(
        &server,
        &query(&id, "").replace("response_type=code", "response_type=token"),
    )
    .await
    .unwrap_err();
    let loc = redirect_error(e);
    assert!(loc.starts_with(REDIRECT));
    assert!(
        loc.contains("error=unsupported_response_type") && loc.contains("state=s%201"),
        "{loc}"
    );
    let e = AuthorizationRequest::parse(
        &server,
        &query(&id, "&code_challenge_method=plain&code_challenge=abc"),
    )
    .await
    .unwrap_err();
    assert!(redirect_error(e).contains("error=invalid_request"));
    let e = AuthorizationRequest::parse(&server, &query(&id, "&prompt=none%20login"))
        .await
        .unwrap_err();
    assert!(redirect_error(e).contains("error=invalid_request"));
    let e = AuthorizationRequest::parse(
        &server,
        &query(&id, "").replace("openid%20profile%20email", "admin"),
    )
    .await
    .unwrap_err();
    assert!(redirect_error(e).contains("error=invalid_scope"));
}

#[tokio::test]
async fn public_clients_must_use_pkce_s256() {
    let (server, id) = setup(ClientAuthMethod::None).await;
    let e = AuthorizationRequest::parse(&server, &query(&id, ""))
        .await
        .unwrap_err();
    assert!(redirect_error(e).contains("error=invalid_request"));
    let ok = AuthorizationRequest::parse(
        &server,
        &query(
            &id,
            &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
        ),
    )
    .await
    .unwrap();
    assert_eq!(ok.code_challenge.as_deref(), Some(CHALLENGE));
}

#[tokio::test]
async fn prompt_none_and_max_age_follow_oidc() {
    let (server, id) = setup(ClientAuthMethod::ClientSecretBasic).await;
    let none = AuthorizationRequest::parse(&server, &query(&id, "&prompt=none"))
        .await
        .unwrap();
    let Next::Error(e) = none.next(&server, None, NOW).await.unwrap() else {
        panic!()
    };
    assert_eq!(e.error(), "login_required");
    let Next::Error(e) = none.next(&server, Some(&session(NOW)), NOW).await.unwrap() else {
        panic!()
    };
    assert_eq!(e.error(), "consent_required");
    let max_age = AuthorizationRequest::parse(&server, &query(&id, "&max_age=60"))
        .await
        .unwrap();
    assert!(matches!(
        max_age
            .next(&server, Some(&session(NOW - 61)), NOW)
            .await
            .unwrap(),
        Next::Login
    ));
    assert!(matches!(
        max_age
            .next(&server, Some(&session(NOW - 60)), NOW)
            .await
            .unwrap(),
        Next::Consent { .. }
    ));
    let login = AuthorizationRequest::parse(&server, &query(&id, "&prompt=login"))
        .await
        .unwrap();
    assert!(matches!(
        login.next(&server, Some(&session(NOW)), NOW).await.unwrap(),
        Next::Login
    ));
    assert!(
        !login.query_after_login().contains("prompt"),
        "prompt=login is satisfied after signing in"
    );
    assert!(
        !max_age.query_after_login().contains("max_age"),
        "so is max_age"
    );
}

#[tokio::test]
async fn consent_lists_the_users_requested_claims_and_approve_always_is_remembered() {
    let (server, id) = setup(ClientAuthMethod::ClientSecretBasic).await;
    let req = AuthorizationRequest::parse(&server, &query(&id, ""))
        .await
        .unwrap();
    let Next::Consent { claims } = req.next(&server, Some(&session(NOW)), NOW).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(claims, vec!["email".to_owned(), "given_name".to_owned()]);
    let approved = vec!["email".to_owned(), "name_not_requested".to_owned()];
    let loc = req
        .decide(
            &server,
            &session(NOW),
            Decision::ApproveAlways,
            &approved,
            NOW,
        )
        .await
        .unwrap();
    assert!(
        loc.starts_with(&format!("{REDIRECT}?code=")) && loc.ends_with("&state=s%201"),
        "{loc}"
    );
    let Next::Issue { claims } = req.next(&server, Some(&session(NOW)), NOW).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        claims,
        vec!["email".to_owned()],
        "only what was approved, never more"
    );
    let again = AuthorizationRequest::parse(&server, &query(&id, "&prompt=consent"))
        .await
        .unwrap();
    assert!(matches!(
        again.next(&server, Some(&session(NOW)), NOW).await.unwrap(),
        Next::Consent { .. }
    ));
    let deny = req
        .decide(&server, &session(NOW), Decision::Deny, &[], NOW)
        .await
        .unwrap();
    assert!(deny.contains("error=access_denied") && deny.contains("state=s%201"));
}

#[tokio::test]
async fn redirect_uris_with_a_query_keep_it() {
    let (server, id) = setup(ClientAuthMethod::ClientSecretBasic).await;
    let q = query(&id, "").replace(&encode(REDIRECT), &encode("https://app.example/cb?x=1"));
    let req = AuthorizationRequest::parse(&server, &q).await.unwrap();
    let loc = req
        .decide(&server, &session(NOW), Decision::ApproveOnce, &[], NOW)
        .await
        .unwrap();
    assert!(loc.starts_with("https://app.example/cb?x=1&code="), "{loc}");
}

/// Redeems `code` with client_secret_basic at the server's current time.
async fn redeem(
    server: &AuthServer,
    client_id: &str,
    secret: &Secret,
    code: &str,
) -> Result<crate::tokens::TokenResponse, OAuthError> {
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}",
        encode(REDIRECT)
    );
    let basic = crate::request::BasicCredentials {
        username: client_id.into(),
        password: secret.clone(),
    };
    let request =
        crate::request::TokenRequest::parse(Form::parse(body.as_bytes()).unwrap(), Some(basic))
            .unwrap();
    server.token(request, None).await
}

#[tokio::test]
async fn codes_expire_after_their_lifetime_without_sleeping() {
    let (server, clock) = testing::server(NOW);
    server
        .keys
        .ensure(server.store.as_ref(), NOW)
        .await
        .unwrap();
    let mut spec = ClientSpec::new("c", ClientAuthMethod::ClientSecretBasic);
    spec.grant_types = vec![GrantType::AuthorizationCode];
    spec.redirect_uris = vec![REDIRECT.into()];
    let (client, secret) = build_client(spec, &crate::OsRandom, NOW).unwrap();
    let secret = secret.unwrap();
    server.store.insert_client(&client).await.unwrap();
    let user = build_user_with_claims(
        "alice",
        &Secret::new("pw"),
        false,
        Default::default(),
        &crate::OsRandom,
        NOW,
    )
    .unwrap();
    server.store.insert_user(&user).await.unwrap();
    let req = AuthorizationRequest::parse(&server, &query(&client.client_id, ""))
        .await
        .unwrap();

    let code_of = |loc: String| {
        let q = loc.split_once('?').unwrap().1;
        q.split('&')
            .find_map(|p| p.strip_prefix("code=").map(str::to_owned))
            .unwrap()
    };
    let fresh = code_of(
        req.issue_code(&server, &session(NOW), vec![], NOW)
            .await
            .unwrap(),
    );
    let stale = code_of(
        req.issue_code(&server, &session(NOW), vec![], NOW)
            .await
            .unwrap(),
    );
    clock.set(NOW + 59);
    let ok = redeem(&server, &client.client_id, &secret, &fresh)
        .await
        .unwrap();
    assert!(ok.id_token.is_some(), "openid scope gets an id_token");
    assert!(
        ok.refresh_token.is_none(),
        "no refresh token without the refresh_token grant"
    );
    clock.set(NOW + 60);
    let e = redeem(&server, &client.client_id, &secret, &stale)
        .await
        .unwrap_err();
    assert_eq!(e.code, crate::ErrorCode::InvalidGrant);
    assert!(e.description.contains("expired"));
}

async fn refresh_with(
    server: &AuthServer,
    client_id: &str,
    secret: &Secret,
    token: &str,
) -> Result<crate::tokens::TokenResponse, OAuthError> {
    let body = format!("grant_type=refresh_token&refresh_token={token}");
    let basic = crate::request::BasicCredentials {
        username: client_id.into(),
        password: secret.clone(),
    };
    let request =
        crate::request::TokenRequest::parse(Form::parse(body.as_bytes()).unwrap(), Some(basic))
            .unwrap();
    server.token(request, None).await
}

#[tokio::test]
async fn refresh_tokens_idle_out_and_rotation_never_passes_the_absolute_lifetime() {
    let (mut server, clock) = testing::server(NOW);
    server.settings.refresh_token_lifetime = 100;
    server.settings.refresh_token_idle_lifetime = 40;
    server
        .keys
        .ensure(server.store.as_ref(), NOW)
        .await
        .unwrap();
    let mut spec = ClientSpec::new("c", ClientAuthMethod::ClientSecretBasic);
    spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    spec.redirect_uris = vec![REDIRECT.into()];
    let (client, secret) = build_client(spec, &crate::OsRandom, NOW).unwrap();
    let secret = secret.unwrap();
    server.store.insert_client(&client).await.unwrap();
    let user = build_user_with_claims(
        "alice",
        &Secret::new("pw"),
        false,
        Default::default(),
        &crate::OsRandom,
        NOW,
    )
    .unwrap();
    server.store.insert_user(&user).await.unwrap();
    let req = AuthorizationRequest::parse(&server, &query(&client.client_id, ""))
        .await
        .unwrap();
    let loc = req
        .issue_code(&server, &session(NOW), vec![], NOW)
        .await
        .unwrap();
    let code = loc
        .split_once("code=")
        .unwrap()
        .1
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let first = redeem(&server, &client.client_id, &secret, &code)
        .await
        .unwrap();
    let mut rt = first.refresh_token.unwrap().expose().to_owned();

    // Rotating every 30 s (inside the 40 s idle window) works until the absolute end at +100.
    for t in [30, 60, 90] {
        clock.set(NOW + t);
        let next = refresh_with(&server, &client.client_id, &secret, &rt)
            .await
            .unwrap();
        let id_token = next.id_token.expect("openid grant gets an id_token");
        let payload = id_token.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["amr"], serde_json::json!(["refresh_token"]));
        assert!(claims.get("nonce").is_none());
        rt = next.refresh_token.unwrap().expose().to_owned();
    }
    let record = server
        .store
        .find_refresh_token(&Secret::new(rt.clone()).hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.expires_at,
        NOW + 100,
        "capped by the absolute lifetime, not 90 + 40"
    );
    clock.set(NOW + 100);
    let e = refresh_with(&server, &client.client_id, &secret, &rt)
        .await
        .unwrap_err();
    assert_eq!(e.code, crate::ErrorCode::InvalidGrant);

    // Idle: a token unused for its idle lifetime expires.
    clock.set(NOW);
    let loc = req
        .issue_code(&server, &session(NOW), vec![], NOW)
        .await
        .unwrap();
    let code = loc
        .split_once("code=")
        .unwrap()
        .1
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let rt = redeem(&server, &client.client_id, &secret, &code)
        .await
        .unwrap()
        .refresh_token
        .unwrap();
    clock.set(NOW + 40);
    let e = refresh_with(&server, &client.client_id, &secret, rt.expose())
        .await
        .unwrap_err();
    assert_eq!(e.code, crate::ErrorCode::InvalidGrant);
}
