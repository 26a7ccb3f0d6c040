//! Khur, Tamga's data exchange: the X-Road model with every message signed (RFC 9421), bound
//! to its answer, logged, timestamped (RFC 3161) and committed to the ledger.
//!
//! - [`sfv`], [`digest`], [`httpsig`]: RFC 8941 fields, RFC 9530 `Content-Digest`, RFC 9421
//!   HTTP message signatures.

pub mod digest;
pub mod httpsig;
pub mod sfv;
