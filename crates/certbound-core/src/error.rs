//! OAuth error values returned by the protocol logic.
//!
//! Every failure a client can cause is an [`OAuthError`] that knows its RFC 6749 §5.2 `error`
//! code. The HTTP layer maps it to a response in exactly one place. Descriptions are fixed
//! strings chosen here: they never echo attacker input. Internal causes (storage failures)
//! are logged where they happen and reach the client only as `server_error`.

use std::borrow::Cow;

/// The `error` codes of RFC 6749 §5.2 (token endpoint), RFC 7662 §2.3 and RFC 6750 §3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// RFC 6749 §5.2: missing or repeated parameter, malformed request.
    InvalidRequest,
    /// RFC 6749 §5.2: client authentication failed (HTTP 401).
    InvalidClient,
    /// RFC 6749 §5.2: the grant (code, refresh token, credentials) is invalid.
    InvalidGrant,
    /// RFC 6749 §5.2: the client may not use this grant type.
    UnauthorizedClient,
    /// RFC 6749 §5.2: the grant type is not supported by this server.
    UnsupportedGrantType,
    /// RFC 6749 §5.2: the requested scope is invalid or exceeds what was granted.
    InvalidScope,
    /// RFC 6749 §4.1.2.1: an unexpected condition on the server.
    ServerError,
    /// RFC 6749 §4.1.2.1: the server cannot handle the request right now.
    TemporarilyUnavailable,
    /// RFC 7591 §3.2.2: a client metadata value is invalid (the response names the member).
    InvalidClientMetadata,
    /// RFC 7591 §3.2.2: a redirect URI is invalid.
    InvalidRedirectUri,
    /// RFC 6750 §3.1: the bearer token (an initial or registration access token) is missing,
    /// expired or revoked (HTTP 401).
    InvalidToken,
    /// RFC 6749 §4.1.2.1: the caller is authenticated but not allowed (HTTP 403).
    AccessDenied,
    /// Administrative endpoints: no credentials, or wrong ones (HTTP 401 with a Basic challenge).
    Unauthorized,
    /// Administrative endpoints: no such record (HTTP 404).
    NotFound,
}

impl ErrorCode {
    /// The wire value of the `error` member.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
        }
    }
}

/// An error with its OAuth code and a fixed, safe description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    /// The RFC 6749 §5.2 error code.
    pub code: ErrorCode,
    /// Human-readable `error_description`; never contains request input.
    pub description: Cow<'static, str>,
    /// The request member that is wrong, sent as `field` (client metadata validation).
    pub field: Option<String>,
}

impl OAuthError {
    /// Builds an error from a code and a fixed description.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            field: None,
        }
    }
    /// `invalid_request`.
    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    /// `invalid_client`.
    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    /// `invalid_grant`.
    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    /// `unauthorized_client`.
    pub fn unauthorized_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, d)
    }
    /// `invalid_scope`.
    pub fn invalid_scope(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }
    /// `server_error`; the cause must already have been logged by the caller.
    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }
}

impl From<crate::registration::FieldError> for OAuthError {
    /// RFC 7591 §3.2.2: `invalid_redirect_uri` for redirect URIs, `invalid_client_metadata`
    /// for every other member; the member is named in `field` and in the description.
    fn from(e: crate::registration::FieldError) -> Self {
        let code = if e.field == "redirect_uris" {
            ErrorCode::InvalidRedirectUri
        } else {
            ErrorCode::InvalidClientMetadata
        };
        OAuthError {
            code,
            description: Cow::Owned(format!("{}: {}", e.field, e.message)),
            field: Some(e.field),
        }
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        match e {
            crate::store::StoreError::Unavailable(_) => OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "the storage backend is unavailable; retry later",
            ),
            _ => OAuthError::server_error(),
        }
    }
}

impl From<certbound_mtls::ForwardedError> for OAuthError {
    /// A certificate forwarded by a trusted proxy that cannot be used: a repeated or oversized
    /// header is a malformed request; an unparseable certificate fails client authentication.
    fn from(e: certbound_mtls::ForwardedError) -> Self {
        use certbound_mtls::ForwardedError as F;
        match e {
            F::Repeated => {
                OAuthError::invalid_request("the client certificate header appears more than once")
            }
            F::TooLong => OAuthError::invalid_request("the client certificate header is too long"),
            F::Unparseable | F::ChainTooLong => OAuthError::invalid_client(
                "the forwarded client certificate could not be parsed (or its chain is too long)",
            ),
        }
    }
}
