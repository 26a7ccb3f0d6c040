//! The electronic archive: documents kept verifiable for decades.
//!
//! - [`ers`]: RFC 4998 evidence records — batches of documents under one time-stamp through a
//!   hash tree, time-stamp renewal before a time-stamp authority's certificate expires,
//!   hash-tree renewal before a hash algorithm weakens, and verification with a reason for
//!   every failure.

pub mod ers;
