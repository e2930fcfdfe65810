//! `/api/admin/users`: local users with their admin flag and profile claims. The password is
//! write-only (hashed with Argon2id off the async threads, never returned). The last
//! administrator can be neither deleted nor demoted.

use super::auth::AdminRequest;
use super::{json, no_content, not_found, parse_object};
use crate::http::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use certbound_core::model::User;
use certbound_core::registration::{self, FieldError};
use certbound_core::secret::Secret;
use certbound_core::store::StoreError;
use certbound_core::{ErrorCode, OAuthError, audit};
use serde_json::{Map, Value, json as j};
use std::collections::BTreeMap;

const NO_USER: &str = "no user with this username";
const MEMBERS: [&str; 4] = ["username", "password", "is_admin", "claims"];

/// Serializes changes of the admin flag and deletions, so that two concurrent requests cannot
/// each remove "another" administrator and leave none (per process, like the store's writer).
static ADMIN_CHANGES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A field error of a user body: `invalid_request` naming the member.
fn bad(e: FieldError) -> ApiError {
    OAuthError {
        code: ErrorCode::InvalidRequest,
        description: format!("{}: {}", e.field, e.message).into(),
        field: Some(e.field),
    }
    .into()
}

fn bad_field(field: &str, message: &str) -> ApiError {
    bad(FieldError {
        field: field.into(),
        message: message.into(),
    })
}

fn conflict(description: &'static str) -> ApiError {
    ApiError {
        error: OAuthError::invalid_request(description),
        status: Some(StatusCode::CONFLICT),
        retry_after: None,
    }
}

const LAST_ADMIN: &str = "this is the last administrator: make another user an administrator first";

/// A user as the API shows it: never the password or its hash.
fn view(user: &User) -> Value {
    j!({
        "username": user.username,
        "is_admin": user.is_admin,
        "claims": user.claims,
        "created_at": user.created_at,
    })
}

/// The members of a user body, typed.
struct UserBody {
    username: Option<String>,
    password: Option<Secret>,
    is_admin: Option<bool>,
    claims: Option<BTreeMap<String, String>>,
}

fn parse(body: &[u8]) -> Result<UserBody, ApiError> {
    let map: Map<String, Value> = parse_object(body)?;
    if let Some(unknown) = map.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(bad_field(unknown, "unknown member"));
    }
    let string = |name: &str| match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad_field(name, "must be a string")),
    };
    let is_admin = match map.get("is_admin") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(bad_field("is_admin", "must be true or false")),
    };
    let claims = match map.get("claims") {
        None | Some(Value::Null) => None,
        Some(Value::Object(c)) => Some(
            c.iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(bad_field("claims", "claim values must be strings")),
                })
                .collect::<Result<BTreeMap<_, _>, _>>()?,
        ),
        Some(_) => return Err(bad_field("claims", "must be an object of strings")),
    };
    Ok(UserBody {
        username: string("username")?,
        password: string("password")?.map(Secret::new),
        is_admin,
        claims,
    })
}

/// Builds (validates, hashes) a user on a blocking thread: Argon2id is deliberately slow.
async fn build(
    state: &AppState,
    username: String,
    password: Secret,
    is_admin: bool,
    claims: BTreeMap<String, String>,
) -> Result<User, ApiError> {
    let random = state.server.random.clone();
    let now = state.server.clock.now();
    tokio::task::spawn_blocking(move || {
        registration::build_user_with_claims(
            &username,
            &password,
            is_admin,
            claims,
            random.as_ref(),
            now,
        )
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing task failed");
        ApiError::from(OAuthError::server_error())
    })?
    .map_err(bad)
}

async fn find(state: &AppState, username: &str) -> Result<User, ApiError> {
    Ok(state
        .server
        .store
        .find_user(username)
        .await
        .map_err(OAuthError::from)?
        .ok_or_else(|| not_found(NO_USER))?)
}

/// `GET /api/admin/users`.
pub async fn list(State(state): State<AppState>, _: AdminRequest) -> Result<Response, ApiError> {
    let users = state
        .server
        .store
        .list_users()
        .await
        .map_err(OAuthError::from)?;
    Ok(json(
        StatusCode::OK,
        Value::Array(users.iter().map(view).collect()),
    ))
}

/// `POST /api/admin/users` with `username`, `password`, optional `is_admin` and `claims`.
pub async fn create(
    State(state): State<AppState>,
    req: AdminRequest,
) -> Result<Response, ApiError> {
    let body = parse(&req.body)?;
    let username = body
        .username
        .ok_or_else(|| bad_field("username", "is required"))?;
    let password = body
        .password
        .ok_or_else(|| bad_field("password", "is required"))?;
    let is_admin = body.is_admin.unwrap_or(false);
    let user = build(
        &state,
        username,
        password,
        is_admin,
        body.claims.unwrap_or_default(),
    )
    .await?;
    match state.server.store.insert_user(&user).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(conflict("a user with this username already exists"));
        }
        Err(e) => return Err(OAuthError::from(e).into()),
    }
    audit::user_created(req.actor(), &user.username, is_admin);
    Ok(json(StatusCode::CREATED, view(&user)))
}

/// `GET /api/admin/users/{username}`.
pub async fn show(
    State(state): State<AppState>,
    Path(username): Path<String>,
    _: AdminRequest,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, view(&find(&state, &username).await?)))
}

/// `PUT /api/admin/users/{username}`: members left out keep their value (the password cannot
/// be read back, so it could not be echoed).
pub async fn update(
    State(state): State<AppState>,
    Path(username): Path<String>,
    req: AdminRequest,
) -> Result<Response, ApiError> {
    let body = parse(&req.body)?;
    if body.username.as_ref().is_some_and(|u| *u != username) {
        return Err(bad_field(
            "username",
            "users cannot be renamed; leave it out or send the URL's username",
        ));
    }
    let _guard = ADMIN_CHANGES.lock().await;
    let existing = find(&state, &username).await?;
    let is_admin = body.is_admin.unwrap_or(existing.is_admin);
    let claims = body.claims.unwrap_or_else(|| existing.claims.clone());
    let user = match body.password {
        Some(password) => User {
            created_at: existing.created_at,
            ..build(&state, username.clone(), password, is_admin, claims).await?
        },
        None => {
            registration::validate_claims(&claims).map_err(bad)?;
            User {
                is_admin,
                claims,
                ..existing.clone()
            }
        }
    };
    let users = state
        .server
        .store
        .list_users()
        .await
        .map_err(OAuthError::from)?;
    if registration::leaves_no_admin(&users, &username, is_admin) {
        return Err(conflict(LAST_ADMIN));
    }
    if !state
        .server
        .store
        .update_user(&user)
        .await
        .map_err(OAuthError::from)?
    {
        return Err(not_found(NO_USER).into());
    }
    audit::user_updated(
        req.actor(),
        &username,
        is_admin,
        user.password_hash != existing.password_hash,
    );
    Ok(json(StatusCode::OK, view(&user)))
}

/// `DELETE /api/admin/users/{username}`: the user with their sessions, consents and tokens.
pub async fn remove(
    State(state): State<AppState>,
    Path(username): Path<String>,
    req: AdminRequest,
) -> Result<Response, ApiError> {
    let _guard = ADMIN_CHANGES.lock().await;
    let users = state
        .server
        .store
        .list_users()
        .await
        .map_err(OAuthError::from)?;
    if registration::leaves_no_admin(&users, &username, false) {
        return Err(conflict(LAST_ADMIN));
    }
    if !state
        .server
        .store
        .delete_user(&username)
        .await
        .map_err(OAuthError::from)?
    {
        return Err(not_found(NO_USER).into());
    }
    audit::user_deleted(req.actor(), &username);
    Ok(no_content())
}
