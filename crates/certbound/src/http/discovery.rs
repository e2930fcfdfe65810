//! Discovery documents (RFC 8414, OIDC Discovery) and the JWKS (RFC 7517).

use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use certbound_core::discovery;

/// The metadata document, at every well-known path.
pub async fn metadata(State(state): State<AppState>) -> Response {
    cacheable(Json(discovery::metadata(&state.server)).into_response())
}

/// `GET /oauth2/jwks`: every published signing key.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let now = state.server.clock.now();
    match state
        .server
        .keys
        .published(state.server.store.as_ref(), now)
        .await
    {
        Ok(keys) => {
            let keys: Vec<_> = keys.iter().map(|k| k.public_jwk()).collect();
            cacheable(Json(serde_json::json!({ "keys": keys })).into_response())
        }
        Err(e) => super::ApiError::from(e).into_response(),
    }
}

/// The stylesheet of the pages.
pub async fn stylesheet() -> Response {
    let mut r = crate::pages::STYLESHEET.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    cacheable(r)
}

fn cacheable(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    r
}
