//! `x-request-id`: kept from the caller when it is a short token of safe characters (so a
//! caller's id can be followed across gateways), otherwise replaced by 128 random bits in hex.

use http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// The header name.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Clone, Copy, Default)]
pub(crate) struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let mut bytes = [0u8; 16];
        aws_lc_rs::rand::fill(&mut bytes).ok()?;
        HeaderValue::from_str(&hex::encode(bytes))
            .ok()
            .map(RequestId::new)
    }
}

/// Whether a caller-supplied id is safe to keep and log.
pub(crate) fn acceptable(value: &HeaderValue) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}
