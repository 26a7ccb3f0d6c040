//! Signing for courts, banks and archives.
//!
//! So far: CAdES baseline B-B signatures (ETSI EN 319 122-1 §6.3): CMS SignedData over the
//! file, detached (`.p7s` beside the file) or enveloping (the file inside), with the signed
//! attributes B-B requires (content-type, message-digest, signing-certificate-v2) and the
//! claimed signing time, and the signer's certificate chain included; and extension to B-T with
//! a signature time-stamp (RFC 3161 token over the signature value, as an unsigned attribute).
//! B-LT/B-LTA, PAdES, ASiC and EN 319 102-1 validation build on this (issue 4).

pub mod archive;
pub mod asic;
pub mod bundle;
pub mod cms_read;
pub mod extend;
pub mod http;
pub mod ltv;
pub mod pades;
pub mod report;
pub mod validate;
pub mod zip;

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
    let (info, mut sd) = decode_signed_data(p7s)?;
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

/// SignedData as the `cms` crate models it, except the revocation set, kept as raw elements:
/// the crate types OtherRevocationInfoFormat's format as an AlgorithmIdentifier instead of an
/// OBJECT IDENTIFIER, so RFC 5940 OCSP entries would not survive a decode.
#[derive(der::Sequence)]
struct RawSignedData {
    version: cms::content_info::CmsVersion,
    digest_algorithms: cms::signed_data::DigestAlgorithmIdentifiers,
    encap_content_info: cms::signed_data::EncapsulatedContentInfo,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    certificates: Option<cms::signed_data::CertificateSet>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    crls: Option<der::asn1::SetOfVec<der::Any>>,
    signer_infos: cms::signed_data::SignerInfos,
}

fn decode_signed_data(
    p7s: &[u8],
) -> Result<(cms::content_info::ContentInfo, RawSignedData), ExtendError> {
    use der::Decode;
    let m = |e: der::Error| {
        ExtendError::Malformed(format!(
            "{e} (only DER signatures, such as Tamga's, can be extended)"
        ))
    };
    let info = cms::content_info::ContentInfo::from_der(p7s).map_err(m)?;
    let sd: RawSignedData = info.content.decode_as().map_err(m)?;
    Ok((info, sd))
}

fn encode_signed_data(
    info: cms::content_info::ContentInfo,
    sd: &RawSignedData,
) -> Result<Vec<u8>, ExtendError> {
    use der::{Any, Encode};
    let m = |e: der::Error| ExtendError::Malformed(e.to_string());
    cms::content_info::ContentInfo {
        content_type: info.content_type,
        content: Any::encode_from(sd).map_err(m)?,
    }
    .to_der()
    .map_err(m)
}

fn add_certificates(sd: &mut RawSignedData, certs: &[Vec<u8>]) -> Result<(), ExtendError> {
    use der::Decode;
    let m = |e: der::Error| ExtendError::Malformed(e.to_string());
    let mut set = sd.certificates.take().map(|c| c.0).unwrap_or_default();
    for der in certs {
        let c = x509_cert::Certificate::from_der(der).map_err(m)?;
        if !set
            .iter()
            .any(|x| matches!(x, cms::cert::CertificateChoices::Certificate(y) if *y == c))
        {
            set.insert(cms::cert::CertificateChoices::Certificate(c))
                .map_err(m)?;
        }
    }
    sd.certificates = Some(cms::signed_data::CertificateSet(set));
    Ok(())
}

/// Raises a CAdES B-T signature to B-LT (EN 319 122-1 §5.5.1): the certificates and OCSP
/// responses/CRLs needed to validate it later go into the SignedData's `certificates` and
/// `crls` (OCSP as RFC 5940 `id-ri-ocsp-response`).
pub fn cades_add_validation_data(
    p7s: &[u8],
    data: &pades::ValidationData,
) -> Result<Vec<u8>, ExtendError> {
    use der::{Any, Encode};
    let m = |e: der::Error| ExtendError::Malformed(e.to_string());
    let (info, mut raw) = decode_signed_data(p7s)?;
    add_certificates(&mut raw, &data.certs)?;
    let mut crls = raw.crls.take().unwrap_or_default();
    for der in &data.crls {
        let any = <Any as der::Decode>::from_der(der).map_err(m)?;
        if !crls.iter().any(|x| *x == any) {
            crls.insert(any).map_err(m)?;
        }
    }
    for der in &data.ocsps {
        // [1] IMPLICIT OtherRevocationInfoFormat { id-ri-ocsp-response, OCSPResponse }.
        let mut body = cms_read::ID_RI_OCSP_RESPONSE.to_der().map_err(m)?;
        body.extend_from_slice(der);
        let mut el = vec![0xa1];
        el.extend(
            der::Length::try_from(body.len())
                .map_err(m)?
                .to_der()
                .map_err(m)?,
        );
        el.extend(body);
        let any = <Any as der::Decode>::from_der(&el).map_err(m)?;
        if !crls.iter().any(|x| *x == any) {
            crls.insert(any).map_err(m)?;
        }
    }
    raw.crls = Some(crls);
    encode_signed_data(info, &raw)
}

/// Adds a countersignature (RFC 5652 §11.4; EN 319 122-1 §5.2.7) by `signer` over the
/// signature value of SignerInfo `index`: a notary's signature over a party's. It signs
/// messageDigest (of the countersigned signature value), signingTime and
/// signingCertificateV2; content-type is absent, as §11.4 requires.
pub fn cades_countersign(
    p7s: &[u8],
    index: usize,
    signer: &dyn Signer,
    cert: &ParsedCert,
    chain: &[ParsedCert],
    signing_time: i64,
) -> Result<Vec<u8>, ExtendError> {
    use der::asn1::{OctetString, SetOfVec};
    use der::{Any, Decode, Encode};
    let m = |e: der::Error| ExtendError::Malformed(e.to_string());
    let b = |e: tamga_pki::builder::BuildError| ExtendError::Malformed(e.to_string());
    if cert.spki_der != signer.public_key_der() {
        return Err(ExtendError::Malformed(
            "the countersigner's certificate is not its key's".into(),
        ));
    }
    let (info, mut sd) = decode_signed_data(p7s)?;
    let mut signers: Vec<cms::signed_data::SignerInfo> =
        sd.signer_infos.0.iter().cloned().collect();
    let parent = signers
        .get_mut(index)
        .ok_or_else(|| ExtendError::Malformed(format!("no signature number {}", index + 1)))?;
    let alg = signer.key_algorithm().default_signature();
    let (digest, digest_oid) = tamga_pki::cms::digest_for(alg);
    let attr = |oid, value: Any| -> Result<x509_cert::attr::Attribute, ExtendError> {
        let mut values = SetOfVec::new();
        values.insert(value).map_err(m)?;
        Ok(x509_cert::attr::Attribute { oid, values })
    };
    let md = aws_lc_rs::digest::digest(digest, parent.signature.as_bytes());
    let mut signed = SetOfVec::new();
    signed
        .insert(attr(
            tamga_pki::cms::ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(md.as_ref()).map_err(m)?).map_err(m)?,
        )?)
        .map_err(m)?;
    signed
        .insert(attr(
            tamga_pki::cms::ID_SIGNING_TIME,
            Any::encode_from(&tamga_pki::builder::x509_time(signing_time).map_err(b)?)
                .map_err(m)?,
        )?)
        .map_err(m)?;
    let ess = tamga_pki::cms::SigningCertificateV2 {
        certs: vec![tamga_pki::cms::EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &cert.der).as_ref(),
            )
            .map_err(m)?,
        }],
    };
    signed
        .insert(attr(
            tamga_pki::cms::ID_AA_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&ess).map_err(m)?,
        )?)
        .map_err(m)?;
    let signature = signer
        .sign(alg, &signed.to_der().map_err(m)?)
        .map_err(|e| ExtendError::Malformed(format!("countersigning: {e}")))?;
    let csi = cms::signed_data::SignerInfo {
        version: cms::content_info::CmsVersion::V1,
        sid: cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(
            cms::cert::IssuerAndSerialNumber {
                issuer: cert.issuer().clone(),
                serial_number: cert.cert.tbs_certificate.serial_number.clone(),
            },
        ),
        digest_alg: spki::AlgorithmIdentifierOwned {
            oid: digest_oid,
            parameters: None,
        },
        signed_attrs: Some(signed),
        signature_algorithm: tamga_pki::builder::signature_algorithm_identifier(alg).map_err(b)?,
        signature: OctetString::new(signature).map_err(m)?,
        unsigned_attrs: None,
    };
    let mut unsigned = parent.unsigned_attrs.take().unwrap_or_default();
    // Several countersignatures share one attribute (its values), as §11.4 allows.
    let value = Any::from_der(&csi.to_der().map_err(m)?).map_err(m)?;
    let mut attrs: Vec<x509_cert::attr::Attribute> = unsigned.into_vec();
    match attrs
        .iter_mut()
        .find(|a| a.oid == validate::ID_COUNTERSIGNATURE)
    {
        Some(a) => a.values.insert(value).map_err(m)?,
        None => attrs.push(attr(validate::ID_COUNTERSIGNATURE, value)?),
    }
    unsigned = SetOfVec::try_from(attrs).map_err(m)?;
    parent.unsigned_attrs = Some(unsigned);
    sd.signer_infos = cms::signed_data::SignerInfos::try_from(signers).map_err(m)?;
    let mut digests = sd.digest_algorithms.clone();
    let d = spki::AlgorithmIdentifierOwned {
        oid: digest_oid,
        parameters: None,
    };
    if !digests.iter().any(|x| x.oid == digest_oid) {
        digests.insert(d).map_err(m)?;
    }
    sd.digest_algorithms = digests;
    let mut certs = vec![cert.der.clone()];
    certs.extend(chain.iter().map(|c| c.der.clone()));
    add_certificates(&mut sd, &certs)?;
    encode_signed_data(info, &sd)
}

/// Adds a parallel signature by another signer over the same content (a contract signed by
/// both parties): a second SignerInfo in the same SignedData. `content` is the signed file
/// (needed for detached signatures; checked against the first signer's message digest).
pub fn cades_add_parallel_signature(
    p7s: &[u8],
    content: &[u8],
    signer: &dyn Signer,
    cert: &ParsedCert,
    chain: &[ParsedCert],
    signing_time: i64,
) -> Result<Vec<u8>, ExtendError> {
    use der::Decode;
    let m = |e: der::Error| ExtendError::Malformed(e.to_string());
    let (info, mut sd) = decode_signed_data(p7s)?;
    let single = cades_sign(
        content,
        Packaging::Detached,
        signer,
        cert,
        chain,
        signing_time,
    )
    .map_err(|e| ExtendError::Malformed(e.to_string()))?;
    let (_, new_sd) = decode_signed_data(&single)?;
    // The content must be the one already signed.
    let view =
        cms_read::parse_signed_data(p7s).map_err(|e| ExtendError::Malformed(e.to_string()))?;
    if let Some(econtent) = &view.econtent
        && econtent.as_slice() != content
    {
        return Err(ExtendError::Malformed(
            "the given content differs from the content the signature carries".into(),
        ));
    }
    let mut signers: Vec<cms::signed_data::SignerInfo> =
        sd.signer_infos.0.iter().cloned().collect();
    signers.extend(new_sd.signer_infos.0.iter().cloned());
    sd.signer_infos = cms::signed_data::SignerInfos::try_from(signers).map_err(m)?;
    for d in new_sd.digest_algorithms.iter() {
        if !sd.digest_algorithms.iter().any(|x| x.oid == d.oid) {
            sd.digest_algorithms.insert(d.clone()).map_err(m)?;
        }
    }
    let certs: Vec<Vec<u8>> = new_sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => der::Encode::to_der(c).ok(),
            _ => None,
        })
        .collect();
    add_certificates(&mut sd, &certs)?;
    let _ = x509_cert::Certificate::from_der;
    encode_signed_data(info, &sd)
}

/// Raises a CAdES B-LT signature to B-LTA (EN 319 122-1 §5.5.3), or renews an existing
/// B-LTA: an archive-time-stamp-v3 over signer `index` (`content` for a detached signature),
/// with its ats-hash-index-v3. Take it after the validation data (B-LT) is in place, since the
/// time-stamp covers what is there.
pub fn cades_add_archive_timestamp(
    p7s: &[u8],
    index: usize,
    content: Option<&[u8]>,
    timestamp: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, ExtendError> {
    use der::{Any, Decode, Encode};
    let m = |e: der::Error| ExtendError::Malformed(e.to_string());
    let (imprint, index_der) =
        archive::archive_imprint(p7s, index, content).map_err(ExtendError::Malformed)?;
    let request = tamga_tsa::build_request_for_digest(&imprint, None, true).map_err(m)?;
    let token =
        tamga_tsa::token_from_response(&timestamp(&request).map_err(ExtendError::Timestamp)?)
            .map_err(|e| ExtendError::Timestamp(e.to_string()))?;
    let v = tamga_tsa::verify_token(&token, None, &[], tamga_pki::AlgorithmPolicy::Strict)
        .map_err(|e| ExtendError::Timestamp(e.to_string()))?;
    if v.imprint != imprint {
        return Err(ExtendError::Timestamp(
            "the TSA answered for another imprint".into(),
        ));
    }
    // The index goes into the token as an unsigned attribute of its SignerInfo.
    let tinfo = cms::content_info::ContentInfo::from_der(&token).map_err(m)?;
    let mut tsd: cms::signed_data::SignedData = tinfo.content.decode_as().map_err(m)?;
    let mut tsis: Vec<cms::signed_data::SignerInfo> = tsd.signer_infos.0.iter().cloned().collect();
    let tsi = tsis
        .first_mut()
        .ok_or_else(|| ExtendError::Timestamp("token without a signer".into()))?;
    let mut values = der::asn1::SetOfVec::new();
    values
        .insert(Any::from_der(&index_der).map_err(m)?)
        .map_err(m)?;
    let mut unsigned = tsi.unsigned_attrs.take().unwrap_or_default();
    unsigned
        .insert(x509_cert::attr::Attribute {
            oid: archive::ID_AA_ATS_HASH_INDEX_V3,
            values,
        })
        .map_err(m)?;
    tsi.unsigned_attrs = Some(unsigned);
    tsd.signer_infos = cms::signed_data::SignerInfos::try_from(tsis).map_err(m)?;
    let token = cms::content_info::ContentInfo {
        content_type: tinfo.content_type,
        content: Any::encode_from(&tsd).map_err(m)?,
    }
    .to_der()
    .map_err(m)?;
    // And the token into the signature.
    let (info, mut sd) = decode_signed_data(p7s)?;
    let mut signers: Vec<cms::signed_data::SignerInfo> =
        sd.signer_infos.0.iter().cloned().collect();
    let si = signers
        .get_mut(index)
        .ok_or_else(|| ExtendError::Malformed(format!("no signature number {}", index + 1)))?;
    let mut values = der::asn1::SetOfVec::new();
    values
        .insert(Any::from_der(&token).map_err(m)?)
        .map_err(m)?;
    let mut unsigned = si.unsigned_attrs.take().unwrap_or_default();
    unsigned
        .insert(x509_cert::attr::Attribute {
            oid: archive::ID_AA_ETS_ARCHIVE_TIMESTAMP_V3,
            values,
        })
        .map_err(m)?;
    si.unsigned_attrs = Some(unsigned);
    sd.signer_infos = cms::signed_data::SignerInfos::try_from(signers).map_err(m)?;
    encode_signed_data(info, &sd)
}
