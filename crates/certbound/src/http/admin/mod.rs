//! The admin REST API under `/api/admin/` (JSON): clients with their certificates, and users.
//! Handlers authenticate the caller as an administrator ([`auth`]), turn JSON into the core's
//! registration types and store the result; validation lives in `certbound_core::registration`
//! and is never repeated here.

pub mod auth;
mod clients;
mod openapi;
mod routes;
mod users;

pub use routes::ROUTES;

use super::AppState;
use axum::Json;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use certbound_core::OAuthError;
use serde_json::Value;

/// The handler of one `(method, path)` of [`ROUTES`].
fn endpoint(method: &str, path: &str) -> Option<MethodRouter<AppState>> {
    Some(match (method, path) {
        ("GET", "/api/admin/openapi.json") => get(openapi::document),
        ("GET", "/api/admin/clients") => get(clients::list),
        ("POST", "/api/admin/clients") => post(clients::create),
        ("GET", "/api/admin/clients/{client_id}") => get(clients::show),
        ("PUT", "/api/admin/clients/{client_id}") => put(clients::update),
        ("DELETE", "/api/admin/clients/{client_id}") => delete(clients::remove),
        ("POST", "/api/admin/clients/{client_id}/certificates") => post(clients::add_certificate),
        ("DELETE", "/api/admin/clients/{client_id}/certificates/{x5t}") => {
            delete(clients::retire_certificate)
        }
        ("GET", "/api/admin/users") => get(users::list),
        ("POST", "/api/admin/users") => post(users::create),
        ("GET", "/api/admin/users/{username}") => get(users::show),
        ("PUT", "/api/admin/users/{username}") => put(users::update),
        ("DELETE", "/api/admin/users/{username}") => delete(users::remove),
        _ => return None,
    })
}

/// The admin API's routes, built from [`ROUTES`] (axum merges methods of the same path).
pub fn router() -> Router<AppState> {
    ROUTES.iter().fold(Router::new(), |router, (method, path)| {
        match endpoint(method, path) {
            Some(e) => router.route(path, e),
            None => {
                tracing::error!(method, path, "admin route without a handler");
                router
            }
        }
    })
}

/// A JSON response that is never cached (it may carry a client secret).
fn json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 204 No Content, never cached.
fn no_content() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A request body as a JSON object; anything else is `invalid_request`.
fn parse_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, OAuthError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(OAuthError::invalid_request(
            "the request body must be a JSON object",
        )),
        Err(_) => Err(OAuthError::invalid_request(
            "the request body is not valid JSON",
        )),
    }
}

/// `not_found` for a record named in the path.
fn not_found(what: &'static str) -> OAuthError {
    OAuthError::new(certbound_core::ErrorCode::NotFound, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_handler() {
        for (method, path) in ROUTES {
            assert!(endpoint(method, path).is_some(), "{method} {path}");
        }
    }
}
