//! `/api/admin/clients`: registering, reading, replacing and deleting clients with RFC 7591 /
//! RFC 8705 metadata ([`ClientMetadata`], as an administrator registers), and rotating their
//! certificates one at a time. Audit lines carry thumbprints, never secrets or PEM.

use super::auth::AdminRequest;
use super::{json, no_content, not_found, parse_object};
use crate::http::{ApiError, AppState};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certbound_core::authorize::append_query;
use certbound_core::model::Client;
use certbound_core::registration::{self, ClientMetadata, Registrar};
use certbound_core::request::Form;
use certbound_core::secret::Secret;
use certbound_core::store::{ClientPages, ClientStore, StoreError};
use certbound_core::{OAuthError, audit};
use certbound_mtls::Thumbprint;
use http_body_util::channel::Channel;
use serde_json::Value;
use std::sync::Arc;

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
    let client = state
        .server
        .store
        .find_client(client_id)
        .await
        .map_err(OAuthError::from)?
        .ok_or_else(|| not_found(NO_CLIENT))?;
    Ok(Arc::unwrap_or_clone(client))
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

/// `GET /api/admin/clients`: every client, by client_id ([`stream_all`]); or, with `limit` (1
/// to 1,000) and optionally `after` (a client_id), one page by client_id, with a `Link: <…>; rel="next"`
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
        return Ok(stream_all(store.clone()));
    };
    let page = store
        .list_clients_page(after.as_deref(), limit)
        .await
        .map_err(OAuthError::from)?;
    let next = page
        .last()
        .filter(|_| page.len() == limit as usize)
        .map(|last| {
            let next = append_query(
                "/api/admin/clients",
                &[("limit", &limit.to_string()), ("after", &last.client_id)],
            );
            format!("<{next}>; rel=\"next\"")
        });
    let body: Vec<Value> = page.iter().map(ClientMetadata::of).collect();
    let mut response = json(StatusCode::OK, Value::Array(body));
    if let Some(link) = next.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// Every client as one JSON array, by client_id, sent as it is read, a page of clients at a
/// time ([`ClientPages`]): built whole, the array of a million clients took 9.5 GB. A store
/// error after the status line has gone aborts the body, so a client never mistakes a cut-off
/// list for a whole one; a client that goes away stops the reading.
fn stream_all<S: ClientStore + ?Sized + 'static>(store: Arc<S>) -> Response {
    let (mut tx, body) = Channel::<Bytes, StoreError>::new(2);
    tokio::spawn(async move {
        let mut pages = ClientPages::new(store.as_ref());
        let mut open = b'[';
        loop {
            let page = match pages.next().await {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "listing clients failed part-way; the response is aborted");
                    return tx.abort(e);
                }
            };
            let mut chunk = Vec::with_capacity(page.len() * 600);
            for c in &page {
                chunk.push(std::mem::replace(&mut open, b','));
                chunk.extend_from_slice(ClientMetadata::of(c).to_string().as_bytes());
            }
            if tx.send_data(chunk.into()).await.is_err() {
                return;
            }
        }
        let end: &'static [u8] = if open == b'[' { b"[]" } else { b"]" };
        let _gone = tx.send_data(Bytes::from_static(end)).await;
    });
    let headers = [
        (header::CONTENT_TYPE, "application/json"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    (headers, Body::new(body)).into_response()
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use certbound_core::model::ClientAuthMethod;
    use certbound_core::registration::{ClientSpec, build_client};
    use certbound_core::store::CLIENT_PAGE;
    use http_body_util::BodyExt;

    /// Clients `c00000` onwards, listed by pages; page `fail_at` (0-based) fails.
    struct Clients {
        all: Vec<Client>,
        fail_at: Option<usize>,
        served: std::sync::atomic::AtomicUsize,
    }

    fn clients(n: usize, fail_at: Option<usize>) -> Arc<Clients> {
        let spec = ClientSpec::new("listed", ClientAuthMethod::ClientSecretBasic);
        let template = build_client(spec, &certbound_core::OsRandom, 10).unwrap().0;
        let all = (0..n)
            .map(|i| Client {
                client_id: format!("c{i:05}"),
                ..template.clone()
            })
            .collect();
        Arc::new(Clients {
            all,
            fail_at,
            served: Default::default(),
        })
    }

    #[async_trait]
    impl ClientStore for Clients {
        async fn insert_client(&self, _: &Client) -> Result<(), StoreError> {
            unreachable!("listing only")
        }
        async fn find_client(&self, _: &str) -> Result<Option<Arc<Client>>, StoreError> {
            unreachable!("listing only")
        }
        async fn list_clients_page(
            &self,
            after: Option<&str>,
            limit: u32,
        ) -> Result<Vec<Client>, StoreError> {
            let n = self
                .served
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.fail_at == Some(n) {
                return Err(StoreError::Unavailable("the disk went away".into()));
            }
            Ok(self
                .all
                .iter()
                .filter(|c| after.is_none_or(|a| c.client_id.as_str() > a))
                .take(limit as usize)
                .cloned()
                .collect())
        }
        async fn update_client(&self, _: &Client) -> Result<bool, StoreError> {
            unreachable!("listing only")
        }
        async fn delete_client(&self, _: &str) -> Result<bool, StoreError> {
            unreachable!("listing only")
        }
    }

    async fn body_of(store: Arc<Clients>) -> Result<Vec<u8>, String> {
        let response = stream_all(store);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        match response.into_body().collect().await {
            Ok(b) => Ok(b.to_bytes().to_vec()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[tokio::test]
    async fn every_client_is_streamed_as_one_json_array_in_id_order() {
        let n = 2 * CLIENT_PAGE as usize + 500;
        let store = clients(n, None);
        let body = body_of(store.clone()).await.unwrap();
        let listed: Vec<Value> = serde_json::from_slice(&body).unwrap();
        let ids: Vec<&str> = listed
            .iter()
            .map(|c| c["client_id"].as_str().unwrap())
            .collect();
        let want: Vec<String> = (0..n).map(|i| format!("c{i:05}")).collect();
        assert_eq!(ids, want);
        assert_eq!(listed[0]["client_name"], "listed");
        assert_eq!(listed[0], ClientMetadata::of(&store.all[0]));
        assert_eq!(
            store.served.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "read in three pages"
        );
        assert_eq!(body_of(clients(0, None)).await.unwrap(), b"[]");
        let one: Value = serde_json::from_slice(&body_of(clients(1, None)).await.unwrap()).unwrap();
        assert_eq!(one.as_array().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_store_error_part_way_aborts_the_body_instead_of_ending_the_array() {
        let err = body_of(clients(2 * CLIENT_PAGE as usize + 500, Some(1)))
            .await
            .expect_err("a cut-off list must not end as a whole one");
        assert!(err.contains("the disk went away"), "{err}");
        // An error on the first page aborts too: no "[]" for a store that failed.
        assert!(body_of(clients(10, Some(0))).await.is_err());
    }
}
