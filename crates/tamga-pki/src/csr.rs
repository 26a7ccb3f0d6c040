//! PKCS#10 certification requests (RFC 2986): parsing and proof of possession.
//!
//! A request is accepted only if its self-signature verifies with the public key it carries
//! (the requester holds the private key), under the strict algorithm policy.

use der::{Decode, Encode};
use x509_cert::name::Name;
use x509_cert::request::CertReq;

use crate::signature::{AlgorithmPolicy, verify_signed};

/// A request whose proof of possession checked out.
#[derive(Debug, Clone)]
pub struct VerifiedCsr {
    /// The subject the requester asked for (the CA decides what it issues).
    pub subject: Name,
    /// DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    /// Not DER or PEM PKCS#10.
    #[error("not a PKCS#10 certification request: {0}")]
    Malformed(String),
    /// The self-signature does not verify.
    #[error("proof of possession failed: {0}")]
    ProofOfPossession(String),
}

/// Parses PEM (`CERTIFICATE REQUEST`) or DER and checks the proof of possession.
pub fn verify_csr(data: &[u8]) -> Result<VerifiedCsr, CsrError> {
    let der = if data.starts_with(b"-----BEGIN") {
        let (label, der) =
            der::pem::decode_vec(data).map_err(|e| CsrError::Malformed(e.to_string()))?;
        if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
            return Err(CsrError::Malformed(format!("PEM block {label:?}")));
        }
        der
    } else {
        data.to_vec()
    };
    let req = CertReq::from_der(&der).map_err(|e| CsrError::Malformed(e.to_string()))?;
    let info = req
        .info
        .to_der()
        .map_err(|e| CsrError::Malformed(e.to_string()))?;
    let spki_der = req
        .info
        .public_key
        .to_der()
        .map_err(|e| CsrError::Malformed(e.to_string()))?;
    verify_signed(
        &req.algorithm,
        &spki_der,
        &info,
        req.signature.raw_bytes(),
        AlgorithmPolicy::Strict,
    )
    .map_err(|e| CsrError::ProofOfPossession(e.to_string()))?;
    Ok(VerifiedCsr {
        subject: req.info.subject,
        spki_der,
    })
}
