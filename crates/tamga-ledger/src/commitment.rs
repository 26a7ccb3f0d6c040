//! Salted document commitments: what the public ledger holds instead of a document or anything
//! about it. `SHA-256(salt ‖ SHA-256(document))` with a fresh 32-byte salt kept beside the
//! document, so the entry proves the document existed at integration time to whoever holds
//! both, and reveals nothing (not even equality of two documents) to anyone else.

use aws_lc_rs::digest::{SHA256, digest};

/// A fresh 32-byte salt.
pub fn fresh_salt() -> Result<[u8; 32], aws_lc_rs::error::Unspecified> {
    let mut salt = [0u8; 32];
    aws_lc_rs::rand::fill(&mut salt)?;
    Ok(salt)
}

/// The ledger entry for a document whose SHA-256 is `document_sha256`.
pub fn salted(salt: &[u8], document_sha256: &[u8]) -> [u8; 32] {
    let mut v = Vec::with_capacity(salt.len() + document_sha256.len());
    v.extend_from_slice(salt);
    v.extend_from_slice(document_sha256);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, &v).as_ref());
    out
}

/// The ledger entry for `document` itself.
pub fn salted_document(salt: &[u8], document: &[u8]) -> [u8; 32] {
    salted(salt, digest(&SHA256, document).as_ref())
}
