//! Every operation of the admin API as `(method, path)`: the one list the router is built from
//! and the integration test compares with the OpenAPI document (it includes this file by path,
//! so keep it free of dependencies).

/// The admin API's operations; paths use axum's and OpenAPI's `{name}` templates.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/admin/openapi.json"),
    ("GET", "/api/admin/clients"),
    ("POST", "/api/admin/clients"),
    ("GET", "/api/admin/clients/{client_id}"),
    ("PUT", "/api/admin/clients/{client_id}"),
    ("DELETE", "/api/admin/clients/{client_id}"),
    ("POST", "/api/admin/clients/{client_id}/certificates"),
    (
        "DELETE",
        "/api/admin/clients/{client_id}/certificates/{x5t}",
    ),
    ("GET", "/api/admin/users"),
    ("POST", "/api/admin/users"),
    ("GET", "/api/admin/users/{username}"),
    ("PUT", "/api/admin/users/{username}"),
    ("DELETE", "/api/admin/users/{username}"),
];
