//! The web console at `/console`: administrators sign in, list, create, edit and delete
//! service providers (OAuth clients), paste their "Application Certificate", and rotate
//! certificates — the WSO2 management-console flow of the reference, server-rendered with the
//! sign-in pages' look, no JavaScript, every change a POST with a CSRF token, every change
//! audit-logged (thumbprints, never PEM or secrets).
//!
//! Validation is certbound-core's (`ClientMetadata::to_spec`, `build_client`, ...): this
//! module translates forms and renders pages, and must not grow its own client rules.

mod auth;
mod certificates;
mod clients;
mod forms;
mod views;

use crate::http::extract::{FormPairs, read_form_pairs};
use crate::http::{AppState, csrf};
use crate::pages;
use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use certbound_core::OAuthError;

/// The warning window of the "expires soon" badge, in days:
/// `[oauth.mutualtls] certificate_expiry_warning_days`, the window of the expiry log report.
pub fn expiry_warning_days(state: &AppState) -> i64 {
    state.server.settings.certificate_expiry_warning / 86_400
}

/// The console's routes, merged into the main router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(clients::list))
        .route("/console/login", get(auth::show_login).post(auth::login))
        .route("/console/logout", post(auth::logout))
        .route("/console/clients", post(clients::create))
        .route("/console/clients/new", get(clients::new_form))
        .route(
            "/console/clients/{id}",
            get(clients::detail).post(clients::update),
        )
        .route("/console/clients/{id}/edit", get(clients::edit))
        .route(
            "/console/clients/{id}/delete",
            get(clients::confirm_delete).post(clients::delete),
        )
        .route(
            "/console/clients/{id}/certificates",
            post(certificates::add),
        )
        .route(
            "/console/clients/{id}/certificates/retire",
            post(certificates::retire),
        )
}

/// The header of every signed-in page: who is signed in, and the CSRF token of its forms.
pub struct ConsoleNav {
    /// The administrator.
    pub username: String,
    /// CSRF token for the page's forms.
    pub csrf: String,
    /// Whether the token is new and must be set as a cookie.
    pub new_csrf: bool,
}

/// Renders a console page (security headers, `no-store`, CSRF cookie when new).
fn show(status: StatusCode, page: &impl Template, nav: &ConsoleNav) -> Response {
    csrf::with_cookie(pages::render(status, page), &nav.csrf, nav.new_csrf)
}

/// Reads the console sign-in form and checks its CSRF token (403 when missing or wrong); the
/// signed-in forms use [`auth::AdminForm`].
async fn read_form(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    repeatable: &[&str],
) -> Result<FormPairs, Response> {
    let form = read_form_pairs(headers, body, state.max_body_bytes, repeatable).await?;
    if !csrf::verify(headers, form.get("csrf")) {
        return Err(forbidden_form());
    }
    Ok(form)
}

/// 403 for a form without the right CSRF token.
fn forbidden_form() -> Response {
    pages::error(
        StatusCode::FORBIDDEN,
        "invalid_request",
        "This form has expired or was not sent by this site. Reload the page and try again.",
    )
}

fn server_error(e: OAuthError) -> Response {
    tracing::error!(error = %e.description, "console request failed");
    pages::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        e.code.as_str(),
        "Something went wrong on our side. Try again shortly.",
    )
}
