//! Khur, Tamga's data exchange: the X-Road model with every message signed (RFC 9421), bound
//! to its answer, logged, time-stamped (RFC 3161) and committed to the ledger.
//!
//! - [`sfv`], [`digest`], [`httpsig`]: RFC 8941 fields, RFC 9530 `Content-Digest`, RFC 9421
//!   HTTP message signatures.
//! - [`id`], [`globalconf`], [`registry`]: identifiers, the signed global configuration and the
//!   registry that publishes it.
//! - [`tls`], [`gateway`], [`revocation`]: mutual TLS with pinned certificates, the consumer and
//!   provider sides of a gateway, OCSP checks of the other side.
//! - [`messagelog`], [`tracker`], [`export`]: the message log with its time-stamped,
//!   ledger-committed batches, the citizen's data tracker, offline-verifiable record exports.
//! - [`remote`], [`http`]: HTTP clients for registry, ledger and TSA; the registry's API.

pub mod digest;
pub mod export;
pub mod gateway;
pub mod globalconf;
pub mod http;
pub mod httpsig;
pub mod id;
pub mod messagelog;
pub mod registry;
pub mod remote;
pub mod revocation;
pub mod sfv;
pub mod tls;
pub mod tracker;
