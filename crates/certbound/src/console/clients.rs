//! Service-provider pages: list, create (the id and secret shown once), detail, edit and
//! delete with confirmation. Handlers read the form, call certbound-core's registration
//! functions and the store, audit-log the change and answer 303 (or the page again, with the
//! entered values and the error next to its field).

use super::auth::{AdminForm, ConsoleAdmin};
use super::forms::{self, ClientForm};
use super::views::{self, CertView, ClientRow, CreatedPage, DeletePage, DetailPage, FieldErrors};
use super::views::{FormPage, ListPage, MessagePage};
use super::{ConsoleNav, expiry_warning_days, server_error, show};
use crate::http::AppState;
use crate::pages::redirect;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use certbound_core::audit;
use certbound_core::authorize::append_query;
use certbound_core::model::{Client, ClientAuthMethod};
use certbound_core::registration::{self, ClientMetadata, ClientSpec, FieldError, Registrar};
use certbound_core::secret::Secret;
use serde::Deserialize;
use std::sync::Arc;

/// `?notice=` after a redirect: one of a fixed set, never echoed.
#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /console`: `?notice=`, and `?after=` (a client_id) for the page after it.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    notice: Option<String>,
    after: Option<String>,
}

fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "deleted" => "The service provider was deleted, with its tokens.",
        "saved" => "Changes saved.",
        "certificate-added" => "Certificate added.",
        "certificate-retired" => "Certificate retired.",
        _ => return None,
    })
}

/// Service providers on one page of the list: with a million registered clients, one page
/// of them all took minutes and gigabytes.
pub const LIST_PAGE: u32 = 100;

/// `GET /console`: the service-provider list, a page of [`LIST_PAGE`] by client_id
/// (`?after=` the last one of the page before), with a link to the next page when there is one.
pub async fn list(
    State(state): State<AppState>,
    admin: ConsoleAdmin,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    // One more than shown tells whether a next page exists.
    let mut clients = match state
        .server
        .store
        .list_clients_page(q.after.as_deref(), LIST_PAGE + 1)
        .await
    {
        Ok(c) => c,
        Err(e) => return server_error(e.into()),
    };
    let more = clients.len() > LIST_PAGE as usize;
    clients.truncate(LIST_PAGE as usize);
    let next = clients
        .last()
        .filter(|_| more)
        .map(|last| append_query("/console", &[("after", &last.client_id)]));
    let now = state.server.clock.now();
    let days = expiry_warning_days(&state);
    let page = ListPage {
        nav: ConsoleNav::new(&state, &headers, &admin),
        rows: clients
            .iter()
            .map(|c| ClientRow::of(c, now, days * 86_400))
            .collect(),
        notice: notice(q.notice.as_deref()),
        window_days: days,
        first: q.after.is_none(),
        next,
    };
    show(StatusCode::OK, &page, &page.nav)
}

/// `GET /console/clients/new`.
pub async fn new_form(
    State(state): State<AppState>,
    admin: ConsoleAdmin,
    headers: HeaderMap,
) -> Response {
    let page = create_page(
        ConsoleNav::new(&state, &headers, &admin),
        ClientForm::blank(),
    );
    show(StatusCode::OK, &page, &page.nav)
}

fn create_page(nav: ConsoleNav, form: ClientForm) -> FormPage {
    FormPage::new(
        nav,
        "Add service provider".to_owned(),
        "/console/clients".to_owned(),
        "/console".to_owned(),
        form,
    )
}

fn edit_page(nav: ConsoleNav, client_id: &str, form: ClientForm) -> FormPage {
    FormPage::new(
        nav,
        format!("Edit {}", form.name),
        format!("/console/clients/{client_id}"),
        format!("/console/clients/{client_id}"),
        form,
    )
}

/// The spec a submitted form asks for.
fn spec_of(state: &AppState, form: &ClientForm) -> Result<ClientSpec, FieldError> {
    let spec = ClientMetadata::from_json(form.to_metadata()?)?.to_spec(Registrar::Admin)?;
    spec.check_trust_store(|n| state.server.settings.trust_stores.contains(n))?;
    Ok(spec)
}

/// `POST /console/clients`: validates, registers, and shows the client id and secret once.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminForm { admin, form: pairs }: AdminForm,
) -> Response {
    let form = ClientForm::from_pairs(&pairs);
    let nav = ConsoleNav::new(&state, &headers, &admin);
    let now = state.server.clock.now();
    let built = spec_of(&state, &form)
        .and_then(|spec| registration::build_client(spec, state.server.random.as_ref(), now));
    let (client, secret) = match built {
        Ok(c) => c,
        Err(e) => {
            let mut page = create_page(nav, form);
            page.errors = FieldErrors::of(&e);
            return show(StatusCode::BAD_REQUEST, &page, &page.nav);
        }
    };
    if let Err(e) = state.server.store.insert_client(&client).await {
        return server_error(e.into());
    }
    audit::client_created(admin.actor(), &client.client_id, client.auth_method);
    created(nav, "Service provider registered", &client, secret)
}

fn created(nav: ConsoleNav, heading: &'static str, c: &Client, secret: Option<Secret>) -> Response {
    let page = CreatedPage {
        nav,
        heading,
        client_id: c.client_id.clone(),
        name: c.name.clone(),
        secret: secret.map(|s| s.expose().to_owned()),
        auth_method: c.auth_method.as_str(),
    };
    show(StatusCode::OK, &page, &page.nav)
}

/// The client, or the console's not-found page.
pub(super) async fn find(
    state: &AppState,
    headers: &HeaderMap,
    admin: &ConsoleAdmin,
    id: &str,
) -> Result<Client, Response> {
    match state.server.store.find_client(id).await {
        Ok(Some(c)) => Ok(Arc::unwrap_or_clone(c)),
        Ok(None) => Err(not_found(state, headers, admin)),
        Err(e) => Err(server_error(e.into())),
    }
}

fn not_found(state: &AppState, headers: &HeaderMap, admin: &ConsoleAdmin) -> Response {
    let page = MessagePage {
        nav: ConsoleNav::new(state, headers, admin),
        heading: "Not found",
        message: "There is no service provider with this client id.".to_owned(),
    };
    show(StatusCode::NOT_FOUND, &page, &page.nav)
}

/// `GET /console/clients/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    admin: ConsoleAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    match find(&state, &headers, &admin, &id).await {
        Ok(client) => {
            let nav = ConsoleNav::new(&state, &headers, &admin);
            let page = detail_page(&state, nav, client, notice(q.notice.as_deref()));
            show(StatusCode::OK, &page, &page.nav)
        }
        Err(r) => r,
    }
}

/// The detail page of a client.
pub fn detail_page(
    state: &AppState,
    nav: ConsoleNav,
    client: Client,
    notice: Option<&'static str>,
) -> DetailPage {
    let now = state.server.clock.now();
    let days = expiry_warning_days(state);
    let subject = client.subject.as_ref().map(|s| {
        let (member, value) = forms::subject_form_value(s);
        format!("{}: {value}", views::member_label(member))
    });
    DetailPage {
        nav,
        subject,
        certs: client
            .certificates
            .iter()
            .map(|r| CertView::of(r, now, days * 86_400))
            .collect(),
        rotation: client.auth_method == ClientAuthMethod::SelfSignedTlsClientAuth
            && client.jwks_uri.is_none(),
        grants: client
            .grant_types
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        client,
        notice,
        cert_error: None,
        new_certificate: String::new(),
        window_days: days,
    }
}

/// `GET /console/clients/{id}/edit`.
pub async fn edit(
    State(state): State<AppState>,
    admin: ConsoleAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match find(&state, &headers, &admin, &id).await {
        Ok(client) => {
            let nav = ConsoleNav::new(&state, &headers, &admin);
            let page = edit_page(nav, &id, ClientForm::of(&client));
            show(StatusCode::OK, &page, &page.nav)
        }
        Err(r) => r,
    }
}

/// `POST /console/clients/{id}`: saves an edit. A client moved to a secret method gets a
/// secret, shown once.
pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    AdminForm { admin, form: pairs }: AdminForm,
) -> Response {
    let existing = match find(&state, &headers, &admin, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let form = ClientForm::from_pairs(&pairs);
    let nav = ConsoleNav::new(&state, &headers, &admin);
    let now = state.server.clock.now();
    let updated = spec_of(&state, &form).and_then(|spec| {
        registration::update_client(&existing, spec, state.server.random.as_ref(), now)
    });
    let (client, secret) = match updated {
        Ok(c) => c,
        Err(e) => {
            let mut page = edit_page(nav, &id, form);
            page.errors = FieldErrors::of(&e);
            return show(StatusCode::BAD_REQUEST, &page, &page.nav);
        }
    };
    match state.server.store.update_client(&client).await {
        Ok(true) => {}
        Ok(false) => return not_found(&state, &headers, &admin),
        Err(e) => return server_error(e.into()),
    }
    audit::client_updated(admin.actor(), &client.client_id, secret.is_some());
    match secret {
        Some(s) => created(nav, "Changes saved: new client secret", &client, Some(s)),
        None => redirect(
            StatusCode::SEE_OTHER,
            &format!("/console/clients/{id}?notice=saved"),
        ),
    }
}

/// `GET /console/clients/{id}/delete`: the confirmation step.
pub async fn confirm_delete(
    State(state): State<AppState>,
    admin: ConsoleAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match find(&state, &headers, &admin, &id).await {
        Ok(client) => delete_page(&state, &headers, &admin, &client, None, StatusCode::OK),
        Err(r) => r,
    }
}

fn delete_page(
    state: &AppState,
    headers: &HeaderMap,
    admin: &ConsoleAdmin,
    client: &Client,
    error: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let page = DeletePage {
        nav: ConsoleNav::new(state, headers, admin),
        client_id: client.client_id.clone(),
        name: client.name.clone(),
        error,
    };
    show(status, &page, &page.nav)
}

/// `POST /console/clients/{id}/delete`: deletes when the confirmation box is ticked.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    AdminForm { admin, form: pairs }: AdminForm,
) -> Response {
    let client = match find(&state, &headers, &admin, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if pairs.get("confirm") != Some("yes") {
        let message = "Tick the box to confirm the deletion.";
        return delete_page(
            &state,
            &headers,
            &admin,
            &client,
            Some(message),
            StatusCode::BAD_REQUEST,
        );
    }
    if let Err(e) = state.server.store.delete_client(&id).await {
        return server_error(e.into());
    }
    audit::client_deleted(admin.actor(), &client.client_id);
    redirect(StatusCode::SEE_OTHER, "/console?notice=deleted")
}
