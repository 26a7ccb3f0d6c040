//! Signing for courts, banks and archives.
//!
//! So far: CAdES baseline B-B signatures (ETSI EN 319 122-1 §6.3): CMS SignedData over the
//! file, detached (`.p7s` beside the file) or enveloping (the file inside), with the signed
//! attributes B-B requires (content-type, message-digest, signing-certificate-v2) and the
//! claimed signing time, and the signer's certificate chain included; and extension to B-T with
//! a signature time-stamp (RFC 3161 token over the signature value, as an unsigned attribute).
//! B-LT/B-LTA, PAdES, ASiC and EN 319 102-1 validation build on this (issue 4).

pub mod cms_read;
pub mod pades;
pub mod report;
pub mod validate;

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

/// id-aa-signatureTimeStampToken (RFC 3161 Appendix A; CAdES B-T).
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// Why a signature could not be extended.
#[derive(Debug, thiserror::Error)]
pub enum ExtendError {
    /// The input is not a CMS SignedData with one signer.
    #[error("not a CAdES signature: {0}")]
    Malformed(String),
    /// The time-stamp authority refused or its token does not check out.
    #[error("time-stamp: {0}")]
    Timestamp(String),
}

/// Raises a CAdES B-B signature to B-T: asks `timestamp` (given the DER TimeStampReq, returns
/// the DER TimeStampResp, e.g. an HTTP call to a TSA) for a token over the signature value and
/// adds it as the signature-time-stamp unsigned attribute. The signature itself is unchanged.
pub fn cades_add_signature_timestamp(
    p7s: &[u8],
    timestamp: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Result<Vec<u8>, ExtendError> {
    use der::{Any, Decode, Encode};
    let m = |e: der::Error| ExtendError::Malformed(e.to_string());
    let info = cms::content_info::ContentInfo::from_der(p7s).map_err(m)?;
    let mut sd: cms::signed_data::SignedData = info.content.decode_as().map_err(m)?;
    let mut signers: Vec<cms::signed_data::SignerInfo> =
        sd.signer_infos.0.iter().cloned().collect();
    let [si] = &mut signers[..] else {
        return Err(ExtendError::Malformed(format!(
            "{} signers; extend one signature at a time",
            signers.len()
        )));
    };
    let request = tamga_tsa::build_request(si.signature.as_bytes(), None, true).map_err(m)?;
    let token = tamga_tsa::token_from_response(&timestamp(&request))
        .map_err(|e| ExtendError::Timestamp(e.to_string()))?;
    // The token must be over this signature value before it is attached.
    tamga_tsa::verify_token(
        &token,
        Some(si.signature.as_bytes()),
        &[],
        tamga_pki::AlgorithmPolicy::Strict,
    )
    .map_err(|e| ExtendError::Timestamp(e.to_string()))?;
    let mut values = der::asn1::SetOfVec::new();
    values
        .insert(Any::from_der(&token).map_err(m)?)
        .map_err(m)?;
    let attr = x509_cert::attr::Attribute {
        oid: ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
        values,
    };
    let mut unsigned = si.unsigned_attrs.take().unwrap_or_default();
    unsigned.insert(attr).map_err(m)?;
    si.unsigned_attrs = Some(unsigned);
    sd.signer_infos = cms::signed_data::SignerInfos::try_from(signers).map_err(m)?;
    cms::content_info::ContentInfo {
        content_type: info.content_type,
        content: Any::encode_from(&sd).map_err(m)?,
    }
    .to_der()
    .map_err(m)
}
