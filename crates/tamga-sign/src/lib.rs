//! Signing for courts, banks and archives.
//!
//! So far: CAdES baseline B-B signatures (ETSI EN 319 122-1 §6.3): CMS SignedData over the
//! file, detached (`.p7s` beside the file) or enveloping (the file inside), with the signed
//! attributes B-B requires (content-type, message-digest, signing-certificate-v2) and the
//! claimed signing time, and the signer's certificate chain included. Levels B-T/B-LT/B-LTA,
//! PAdES, ASiC and EN 319 102-1 validation build on this (issue 4).

use tamga_keys::Signer;
use tamga_pki::ParsedCert;
use tamga_pki::cms::{ID_DATA, SignedDataSpec, build_signed_data};

/// A signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The certificate is not the key's.
    #[error("the certificate's public key is not the signing key's")]
    KeyMismatch,
    /// Building or signing the CMS structure failed.
    #[error(transparent)]
    Build(#[from] tamga_pki::builder::BuildError),
}

/// How the signed content is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packaging {
    /// The signature is a separate `.p7s`; the file stays as it is.
    Detached,
    /// The file is inside the signature.
    Enveloping,
}

/// Signs `content` as CAdES B-B; returns the DER ContentInfo (a `.p7s`).
pub fn cades_sign(
    content: &[u8],
    packaging: Packaging,
    signer: &dyn Signer,
    signer_cert: &ParsedCert,
    chain: &[ParsedCert],
    signing_time: i64,
) -> Result<Vec<u8>, SignError> {
    if signer_cert.spki_der != signer.public_key_der() {
        return Err(SignError::KeyMismatch);
    }
    let mut certificates = vec![signer_cert.cert.clone()];
    certificates.extend(chain.iter().map(|c| c.cert.clone()));
    Ok(build_signed_data(&SignedDataSpec {
        content_type: ID_DATA,
        content,
        encapsulate: packaging == Packaging::Enveloping,
        signer_cert,
        signer,
        certificates,
        signing_time: Some(signing_time),
    })?)
}
