//! The electronic archive: documents kept verifiable for decades.
//!
//! - [`ers`]: RFC 4998 evidence records — batches of documents under one time-stamp through a
//!   hash tree, time-stamp renewal before a time-stamp authority's certificate expires,
//!   hash-tree renewal before a hash algorithm weakens, and verification with a reason for
//!   every failure.
//! - [`service`]: the archive — ingest with a salted ledger commitment, sealing in batches,
//!   scheduled renewal, disposal recorded in the ledger, export.
//! - [`package`]: the self-contained package (ASiC-S with the evidence record) and its offline
//!   verification.
//! - [`http`]: the archivist API and the public verification page.
//! - [`copy`]: printable paper copies with a QR code back to the original.

pub mod copy;
pub mod ers;
pub mod http;
pub mod package;
pub mod service;
