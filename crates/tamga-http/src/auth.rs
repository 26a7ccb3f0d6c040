//! Bearer tokens for operator APIs (ledger appends, registry commands, archivists, notary
//! offices): compared in constant time, and refused outright when no token is configured —
//! deny by default.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Whether `headers` carry `Authorization: Bearer <expected>`; always false when `expected` is
/// `None` (the API is switched off) or empty.
pub fn bearer_matches(expected: Option<&str>, headers: &HeaderMap) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    expected.filter(|t| !t.is_empty()).is_some_and(|t| {
        aws_lc_rs::constant_time::verify_slices_are_equal(t.as_bytes(), given.as_bytes()).is_ok()
    })
}

/// An RFC 9457 problem answer: `{"status": …, "detail": …}` as `application/problem+json`.
pub fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::json!({ "status": status.as_u16(), "detail": detail.into() }).to_string(),
    )
        .into_response()
}
