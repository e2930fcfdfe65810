//! `/api/admin/clients`: registering, reading, replacing and deleting clients with RFC 7591 /
//! RFC 8705 metadata ([`ClientMetadata`], as an administrator registers), and rotating their
//! certificates one at a time. Audit lines carry thumbprints, never secrets or PEM.

use super::auth::AdminRequest;
use super::{json, no_content, not_found, parse_object};
use crate::http::{ApiError, AppState};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use certbound_core::model::Client;
use certbound_core::registration::{self, ClientMetadata, Registrar};
use certbound_core::request::Form;
use certbound_core::secret::Secret;
use certbound_core::{OAuthError, audit};
use certbound_mtls::Thumbprint;
use serde_json::Value;

const NO_CLIENT: &str = "no client with this client_id";

/// The metadata of a client, with its secret when one was just generated (shown once).
fn metadata(client: &Client, secret: Option<&Secret>) -> Value {
    let mut v = ClientMetadata::of(client);
    if let (Some(secret), Some(map)) = (secret, v.as_object_mut()) {
        map.insert(
            "client_secret".into(),
            Value::String(secret.expose().into()),
        );
        map.insert("client_secret_expires_at".into(), Value::from(0));
    }
    v
}

async fn find(state: &AppState, client_id: &str) -> Result<Client, ApiError> {
    Ok(state
        .server
        .store
        .find_client(client_id)
        .await
        .map_err(OAuthError::from)?
        .ok_or_else(|| not_found(NO_CLIENT))?)
}

/// Parses a metadata body; `client_id`, when sent, must be `expected` (the path's, or none).
fn parse_metadata(
    body: &[u8],
    expected: Option<&str>,
) -> Result<registration::ClientSpec, OAuthError> {
    let map = parse_object(body)?;
    if let Some(sent) = map.get("client_id").filter(|v| !v.is_null())
        && sent.as_str() != expected
    {
        return Err(OAuthError::from(registration::FieldError {
            field: "client_id".into(),
            message: match expected {
                Some(_) => "must be the client_id of the URL, or left out".into(),
                None => "is assigned by the server; leave it out".into(),
            },
        }));
    }
    Ok(ClientMetadata::from_json(Value::Object(map))?.to_spec(Registrar::Admin)?)
}

/// Most clients in one page of `GET /api/admin/clients?limit=`.
const MAX_PAGE: u32 = 1000;

/// `GET /api/admin/clients`: every client, by creation time; or, with `limit` (1 to 1,000) and
/// optionally `after` (a client_id), one page by client_id, with a `Link: <…>; rel="next"`
/// header (RFC 8288) while the page is full, so that a store of a million clients can be
/// listed without building one response for all of them.
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    _: AdminRequest,
) -> Result<Response, ApiError> {
    let store = &state.server.store;
    let mut q = Form::parse(query.as_deref().unwrap_or("").as_bytes())?;
    let after = q.take("after");
    let limit = match q.take("limit") {
        None if after.is_none() => None,
        None => return Err(OAuthError::invalid_request("after needs limit").into()),
        Some(l) => Some(
            l.parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_PAGE).contains(l))
                .ok_or_else(|| OAuthError::invalid_request("limit must be 1 to 1000"))?,
        ),
    };
    let Some(limit) = limit else {
        let clients = store.list_clients().await.map_err(OAuthError::from)?;
        let all: Vec<Value> = clients.iter().map(ClientMetadata::of).collect();
        return Ok(json(StatusCode::OK, Value::Array(all)));
    };
    let page = store
        .list_clients_page(after.as_deref(), limit)
        .await
        .map_err(OAuthError::from)?;
    let next = page
        .last()
        .filter(|_| page.len() == limit as usize)
        .map(|last| {
            let after: String =
                form_urlencoded::byte_serialize(last.client_id.as_bytes()).collect();
            format!("</api/admin/clients?limit={limit}&after={after}>; rel=\"next\"")
        });
    let body: Vec<Value> = page.iter().map(ClientMetadata::of).collect();
    let mut response = json(StatusCode::OK, Value::Array(body));
    if let Some(link) = next.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// `POST /api/admin/clients`: 201 with the metadata and, for secret methods, the secret once.
pub async fn create(
    State(state): State<AppState>,
    req: AdminRequest,
) -> Result<Response, ApiError> {
    let spec = parse_metadata(&req.body, None)?;
    let server = &state.server;
    spec.check_trust_store(|n| server.settings.trust_stores.contains(n))
        .map_err(OAuthError::from)?;
    let (client, secret) =
        registration::build_client(spec, server.random.as_ref(), server.clock.now())
            .map_err(OAuthError::from)?;
    server
        .store
        .insert_client(&client)
        .await
        .map_err(OAuthError::from)?;
    audit::client_created(req.actor(), &client.client_id, client.auth_method);
    Ok(json(
        StatusCode::CREATED,
        metadata(&client, secret.as_ref()),
    ))
}

/// `GET /api/admin/clients/{client_id}`.
pub async fn show(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    _: AdminRequest,
) -> Result<Response, ApiError> {
    let client = find(&state, &client_id).await?;
    Ok(json(StatusCode::OK, metadata(&client, None)))
}

/// `PUT /api/admin/clients/{client_id}`: replaces the registration (RFC 7592 §2.2 semantics);
/// a secret is returned only when one was generated.
pub async fn update(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    req: AdminRequest,
) -> Result<Response, ApiError> {
    let existing = find(&state, &client_id).await?;
    let spec = parse_metadata(&req.body, Some(&client_id))?;
    let server = &state.server;
    spec.check_trust_store(|n| server.settings.trust_stores.contains(n))
        .map_err(OAuthError::from)?;
    let (client, secret) =
        registration::update_client(&existing, spec, server.random.as_ref(), server.clock.now())
            .map_err(OAuthError::from)?;
    store_update(&state, &client).await?;
    audit::client_updated(req.actor(), &client.client_id, secret.is_some());
    Ok(json(StatusCode::OK, metadata(&client, secret.as_ref())))
}

async fn store_update(state: &AppState, client: &Client) -> Result<(), ApiError> {
    if state
        .server
        .store
        .update_client(client)
        .await
        .map_err(OAuthError::from)?
    {
        Ok(())
    } else {
        Err(not_found(NO_CLIENT).into())
    }
}

/// `DELETE /api/admin/clients/{client_id}`: the client and every token issued to it.
pub async fn remove(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    req: AdminRequest,
) -> Result<Response, ApiError> {
    if !state
        .server
        .store
        .delete_client(&client_id)
        .await
        .map_err(OAuthError::from)?
    {
        return Err(not_found(NO_CLIENT).into());
    }
    audit::client_deleted(req.actor(), &client_id);
    Ok(no_content())
}

/// `POST /api/admin/clients/{client_id}/certificates` with `{"certificate": "<PEM>"}`:
/// registers one more certificate (the start of a rotation); 201 with the client's metadata.
pub async fn add_certificate(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    req: AdminRequest,
) -> Result<Response, ApiError> {
    let mut client = find(&state, &client_id).await?;
    let body = parse_object(&req.body)?;
    if let Some(unknown) = body.keys().find(|k| *k != "certificate") {
        return Err(OAuthError::from(registration::FieldError {
            field: unknown.clone(),
            message: "unknown member; the body is {\"certificate\": \"<PEM>\"}".into(),
        })
        .into());
    }
    let pem = match body.get("certificate") {
        Some(Value::String(pem)) => pem,
        _ => {
            return Err(OAuthError::from(registration::FieldError {
                field: "certificate".into(),
                message: "must be a string holding one PEM certificate".into(),
            })
            .into());
        }
    };
    let certificate = registration::certificate_from_pem(pem).map_err(OAuthError::from)?;
    let x5t = *certificate.thumbprint();
    registration::add_certificate(&mut client, certificate, state.server.clock.now())
        .map_err(OAuthError::from)?;
    store_update(&state, &client).await?;
    audit::certificate_added(req.actor(), &client_id, &x5t);
    Ok(json(StatusCode::CREATED, metadata(&client, None)))
}

/// `DELETE /api/admin/clients/{client_id}/certificates/{x5t}`: retires one certificate (the
/// end of a rotation); 200 with the client's metadata.
pub async fn retire_certificate(
    State(state): State<AppState>,
    Path((client_id, x5t)): Path<(String, String)>,
    req: AdminRequest,
) -> Result<Response, ApiError> {
    let mut client = find(&state, &client_id).await?;
    let thumbprint = Thumbprint::from_base64url(&x5t).ok_or_else(|| {
        OAuthError::from(registration::FieldError {
            field: "x5t#S256".into(),
            message: "is not a base64url SHA-256 thumbprint".into(),
        })
    })?;
    registration::retire_certificate(&mut client, &thumbprint).map_err(OAuthError::from)?;
    store_update(&state, &client).await?;
    audit::certificate_retired(req.actor(), &client_id, &thumbprint);
    Ok(json(StatusCode::OK, metadata(&client, None)))
}
