//! Certificate rotation on the detail page (RFC 8705 §2.2 clients with registered
//! certificates): add one pasted certificate, or retire one by its `x5t#S256` — each a single
//! POST. The rules (expired, duplicate, last certificate, limit) are certbound-core's
//! `add_certificate` / `retire_certificate`.

use super::auth::{AdminForm, ConsoleAdmin};
use super::clients::{detail_page, find};
use super::{ConsoleNav, server_error, show};
use crate::http::AppState;
use crate::pages::redirect;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use certbound_core::audit::{self, Actor};
use certbound_core::model::Client;
use certbound_core::registration::{FieldError, add_certificate, retire_certificate};
use certbound_mtls::{ClientCertificate, Thumbprint};

/// `POST /console/clients/{id}/certificates`: registers one more certificate.
pub async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    AdminForm { admin, form }: AdminForm,
) -> Response {
    let mut client = match find(&state, &headers, &admin, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let pem = form.get("certificate").unwrap_or_default();
    let now = state.server.clock.now();
    let added = match ClientCertificate::from_pem(pem) {
        Ok(mut certs) if certs.len() == 1 => {
            let cert = certs.remove(0);
            let x5t = *cert.thumbprint();
            add_certificate(&mut client, cert, now).map(|()| x5t)
        }
        Ok(_) => Err(problem("paste exactly one certificate")),
        Err(_) => Err(problem(
            "is not a PEM certificate: paste the whole -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE----- block",
        )),
    };
    let x5t = match added {
        Ok(x5t) => x5t,
        Err(e) => return failed(&state, &headers, &admin, client, &e, pem),
    };
    save(
        &state,
        &admin,
        &client,
        audit::certificate_added,
        &x5t,
        "certificate-added",
    )
    .await
}

/// `POST /console/clients/{id}/certificates/retire`: retires the certificate with this
/// `x5t#S256`.
pub async fn retire(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    AdminForm { admin, form }: AdminForm,
) -> Response {
    let mut client = match find(&state, &headers, &admin, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let retired = match Thumbprint::from_base64url(form.get("x5t").unwrap_or_default()) {
        Some(t) => retire_certificate(&mut client, &t).map(|()| t),
        None => Err(problem("no certificate with this thumbprint is registered")),
    };
    let x5t = match retired {
        Ok(t) => t,
        Err(e) => return failed(&state, &headers, &admin, client, &e, ""),
    };
    save(
        &state,
        &admin,
        &client,
        audit::certificate_retired,
        &x5t,
        "certificate-retired",
    )
    .await
}

async fn save(
    state: &AppState,
    admin: &ConsoleAdmin,
    client: &Client,
    audit: fn(Actor<'_>, &str, &Thumbprint),
    x5t: &Thumbprint,
    notice: &str,
) -> Response {
    match state.server.store.update_client(client).await {
        Ok(_) => {
            audit(admin.actor(), &client.client_id, x5t);
            redirect(
                StatusCode::SEE_OTHER,
                &format!("/console/clients/{}?notice={notice}", client.client_id),
            )
        }
        Err(e) => server_error(e.into()),
    }
}

/// The detail page again, with the error above the certificate forms.
fn failed(
    state: &AppState,
    headers: &HeaderMap,
    admin: &ConsoleAdmin,
    client: Client,
    e: &FieldError,
    pem: &str,
) -> Response {
    let nav = ConsoleNav::new(state, headers, admin);
    let mut page = detail_page(state, nav, client, None);
    page.cert_error = Some(e.message.clone());
    page.new_certificate = pem.to_owned();
    show(StatusCode::BAD_REQUEST, &page, &page.nav)
}

fn problem(message: &str) -> FieldError {
    FieldError {
        field: "certificate".to_owned(),
        message: message.to_owned(),
    }
}
