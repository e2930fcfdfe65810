//! `GET /api/admin/openapi.json`: the OpenAPI 3.1 description of the admin API, a checked-in
//! document (`openapi.json`) that an integration test keeps in sync with [`super::ROUTES`].
//! Served without authentication: it describes the API and holds no data.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The document, as checked in.
const DOCUMENT: &str = include_str!("openapi.json");

/// Serves the document.
pub async fn document() -> Response {
    let mut response = DOCUMENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
