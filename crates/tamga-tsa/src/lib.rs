//! RFC 3161 time-stamp authority: answering `TimeStampReq`s with `TimeStampResp`s whose token
//! is a CMS SignedData (RFC 5652) over a `TSTInfo`, signed with a `signingCertificateV2`
//! attribute (RFC 5816 / RFC 5035 ESSCertIDv2), and checking such tokens.
//!
//! Accepted imprints: SHA-256, SHA-384, SHA-512 (with the right length). Requests with a policy
//! other than the TSA's, with extensions, or that cannot be parsed are rejected with the
//! RFC 3161 §2.4.2 failure info (unacceptedPolicy, unacceptedExtension, badAlg,
//! badDataFormat). Serial numbers are 128-bit random positive integers (unique without a
//! counter), the nonce is echoed, `certReq` adds the TSA certificate to the token.

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::{BitString, GeneralizedTime, Int, OctetString};
use der::{Any, Decode, Encode, Sequence};
use tamga_keys::Signer;
use tamga_pki::ParsedCert;
use tamga_pki::cms::{
    ID_AA_SIGNING_CERTIFICATE_V2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, SignedDataSpec,
    SigningCertificateV2, build_signed_data,
};
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TspVersion, TstInfo};

/// id-ct-TSTInfo.
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// RFC 3161 §2.4.2 PKIFailureInfo bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier.
    BadAlg = 0,
    /// Transaction not permitted or supported.
    BadRequest = 2,
    /// The data submitted has the wrong format.
    BadDataFormat = 5,
    /// The requested policy is not supported.
    UnacceptedPolicy = 15,
    /// The requested extension is not supported.
    UnacceptedExtension = 16,
    /// The request cannot be handled due to system failure.
    SystemFailure = 25,
}

#[derive(Sequence)]
struct StatusInfo {
    status: u8,
    status_string: Option<Vec<String>>,
    fail_info: Option<BitString>,
}

#[derive(Sequence)]
struct Response {
    status: StatusInfo,
    token: Option<cms::content_info::ContentInfo>,
}

/// A rejection response with one failure bit and a human reason.
pub fn rejection(fail: FailureInfo, reason: &str) -> Vec<u8> {
    let bit = fail as usize;
    let mut bytes = vec![0u8; bit / 8 + 1];
    bytes[bit / 8] |= 0x80 >> (bit % 8);
    let unused = (7 - bit % 8) as u8;
    Response {
        status: StatusInfo {
            status: 2,
            status_string: Some(vec![reason.to_owned()]),
            fail_info: BitString::new(unused, bytes).ok(),
        },
        token: None,
    }
    .to_der()
    .unwrap_or_default()
}

fn imprint_length(alg: &ObjectIdentifier) -> Option<usize> {
    digest_of(alg).map(|d| d.output_len())
}

/// A time-stamp authority.
pub struct Tsa<'a> {
    /// The TSA's certificate (id-kp-timeStamping, critical).
    pub cert: &'a ParsedCert,
    /// The TSA's key.
    pub signer: &'a dyn Signer,
    /// The issuing CAs (nearest first), sent with the TSA's certificate when certReq is set so
    /// that a relying party can build the path without fetching.
    pub chain: &'a [ParsedCert],
    /// The TSA policy OID put in every token.
    pub policy: ObjectIdentifier,
    /// Accuracy in seconds claimed for genTime.
    pub accuracy_secs: u64,
}

impl Tsa<'_> {
    /// Answers a DER TimeStampReq at `now` (Unix seconds): a granted response with a token, or a
    /// rejection naming the failure.
    pub fn respond(&self, request_der: &[u8], now: i64) -> Vec<u8> {
        let req = match TimeStampReq::from_der(request_der) {
            Ok(r) => r,
            Err(e) => {
                return rejection(
                    FailureInfo::BadDataFormat,
                    &format!("not a TimeStampReq: {e}"),
                );
            }
        };
        let alg = req.message_imprint.hash_algorithm.oid;
        match imprint_length(&alg) {
            None => {
                return rejection(
                    FailureInfo::BadAlg,
                    &format!("unsupported imprint algorithm {alg} (SHA-256/384/512)"),
                );
            }
            Some(n) if n != req.message_imprint.hashed_message.as_bytes().len() => {
                return rejection(
                    FailureInfo::BadDataFormat,
                    "imprint length does not match its algorithm",
                );
            }
            Some(_) => {}
        }
        if let Some(p) = req.req_policy
            && p != self.policy
        {
            return rejection(
                FailureInfo::UnacceptedPolicy,
                &format!(
                    "policy {p} is not offered; this TSA issues under {}",
                    self.policy
                ),
            );
        }
        if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
            return rejection(
                FailureInfo::UnacceptedExtension,
                "request extensions are not supported",
            );
        }
        match self.token(&req, now) {
            Ok(token) => Response {
                status: StatusInfo {
                    status: 0,
                    status_string: None,
                    fail_info: None,
                },
                token: Some(token),
            }
            .to_der()
            .unwrap_or_else(|_| rejection(FailureInfo::SystemFailure, "encoding failed")),
            Err(e) => rejection(FailureInfo::SystemFailure, &e),
        }
    }

    fn token(
        &self,
        req: &TimeStampReq,
        now: i64,
    ) -> Result<cms::content_info::ContentInfo, String> {
        let e = |err: der::Error| err.to_string();
        let mut serial = [0u8; 16];
        aws_lc_rs::rand::fill(&mut serial).map_err(|_| "no randomness".to_owned())?;
        serial[0] = (serial[0] & 0x7f) | 0x40;
        let secs = u64::try_from(now).map_err(|_| "clock before 1970".to_owned())?;
        let tst = TstInfo {
            version: TspVersion::V1,
            policy: self.policy,
            message_imprint: MessageImprint {
                hash_algorithm: req.message_imprint.hash_algorithm.clone(),
                hashed_message: req.message_imprint.hashed_message.clone(),
            },
            serial_number: Int::new(&serial).map_err(e)?,
            gen_time: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
                .map_err(e)?,
            accuracy: Some(Accuracy {
                seconds: Some(self.accuracy_secs),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: req.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_der = tst.to_der().map_err(e)?;
        let der = build_signed_data(&SignedDataSpec {
            content_type: ID_CT_TST_INFO,
            content: &tst_der,
            encapsulate: true,
            signer_cert: self.cert,
            signer: self.signer,
            certificates: if req.cert_req {
                std::iter::once(self.cert)
                    .chain(self.chain.iter())
                    .map(|c| c.cert.clone())
                    .collect()
            } else {
                vec![]
            },
            signing_time: Some(now),
        })
        .map_err(|err| err.to_string())?;
        cms::content_info::ContentInfo::from_der(&der).map_err(e)
    }
}

/// Builds a DER TimeStampReq for `data` (SHA-256 imprint), with an optional nonce.
pub fn build_request(
    data: &[u8],
    nonce: Option<&[u8]>,
    cert_req: bool,
) -> Result<Vec<u8>, der::Error> {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    build_request_for_digest(digest.as_ref(), nonce, cert_req)
}

/// Builds a DER TimeStampReq for a SHA-256 `digest` already computed, with an optional nonce.
pub fn build_request_for_digest(
    digest: &[u8],
    nonce: Option<&[u8]>,
    cert_req: bool,
) -> Result<Vec<u8>, der::Error> {
    build_request_with(rfc5912::ID_SHA_256, digest, nonce, cert_req)
}

/// Builds a DER TimeStampReq for a `digest` computed with the hash algorithm `hash_oid`.
pub fn build_request_with(
    hash_oid: ObjectIdentifier,
    digest: &[u8],
    nonce: Option<&[u8]>,
    cert_req: bool,
) -> Result<Vec<u8>, der::Error> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier {
                oid: hash_oid,
                parameters: None,
            },
            hashed_message: OctetString::new(digest)?,
        },
        req_policy: None,
        nonce: nonce.map(Int::new).transpose()?,
        cert_req,
        extensions: None,
    }
    .to_der()
}

/// id-aa-signingCertificate (RFC 2634 §5.4, ESS v1).
pub const ID_AA_SIGNING_CERTIFICATE_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");

/// ESSCertID (RFC 2634): SHA-1 of the certificate.
#[derive(der::Sequence)]
struct EssCertIdV1 {
    cert_hash: OctetString,
    issuer_serial: Option<Any>,
}

/// SigningCertificate (RFC 2634).
#[derive(der::Sequence)]
struct SigningCertificateV1 {
    certs: Vec<EssCertIdV1>,
    policies: Option<Any>,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a TimeStampResp / token, or a malformed one.
    #[error("malformed time-stamp token: {0}")]
    Malformed(String),
    /// The response says the request was rejected.
    #[error("the TSA rejected the request: {0}")]
    Rejected(String),
    /// The token's imprint is not the data's.
    #[error("the token covers other data (message imprint mismatch)")]
    ImprintMismatch,
    /// No certificate for the signer.
    #[error("the token's signer certificate is neither in the token nor supplied")]
    SignerUnknown,
    /// A signed attribute is missing or wrong.
    #[error("signed attributes: {0}")]
    Attributes(String),
    /// The signature does not verify.
    #[error("token signature: {0}")]
    Signature(String),
    /// The signer is not a TSA (RFC 3161 §2.3: critical extKeyUsage, only id-kp-timeStamping).
    #[error("the signer certificate is not a time-stamping certificate")]
    NotATsa,
}

/// What a verified token proves: `imprint` existed at `gen_time`, attested by `signer`. Path
/// validation of `signer` (as of `gen_time`, purpose TSA) is the caller's next step.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// genTime, Unix seconds.
    pub gen_time: i64,
    /// TSA policy.
    pub policy: ObjectIdentifier,
    /// Token serial number.
    pub serial: Vec<u8>,
    /// Imprint algorithm.
    pub imprint_algorithm: ObjectIdentifier,
    /// Imprint value.
    pub imprint: Vec<u8>,
    /// The TSA certificate that signed.
    pub signer: ParsedCert,
}

/// The token (a DER ContentInfo) out of a DER TimeStampResp; rejections become errors.
pub fn token_from_response(response_der: &[u8]) -> Result<Vec<u8>, TokenError> {
    let resp =
        Response::from_der(response_der).map_err(|e| TokenError::Malformed(e.to_string()))?;
    if resp.status.status > 1 {
        return Err(TokenError::Rejected(
            resp.status.status_string.unwrap_or_default().join("; "),
        ));
    }
    resp.token
        .ok_or_else(|| TokenError::Malformed("granted response without a token".into()))?
        .to_der()
        .map_err(|e| TokenError::Malformed(e.to_string()))
}

fn digest_of(oid: &ObjectIdentifier) -> Option<&'static aws_lc_rs::digest::Algorithm> {
    Some(match *oid {
        rfc5912::ID_SHA_256 => &aws_lc_rs::digest::SHA256,
        rfc5912::ID_SHA_384 => &aws_lc_rs::digest::SHA384,
        rfc5912::ID_SHA_512 => &aws_lc_rs::digest::SHA512,
        _ => return None,
    })
}

/// Verifies a token: structure, signed attributes (contentType, messageDigest,
/// signingCertificateV2), the signature, the signer's TSA key usage, and, when `data` is given,
/// that the token's imprint is the hash of `data`. `extra_certs` may supply the signer
/// certificate when the token does not carry it.
pub fn verify_token(
    token_der: &[u8],
    data: Option<&[u8]>,
    extra_certs: &[ParsedCert],
    policy: tamga_pki::AlgorithmPolicy,
) -> Result<VerifiedToken, TokenError> {
    let m = |e: der::Error| TokenError::Malformed(e.to_string());
    let info = cms::content_info::ContentInfo::from_der(token_der).map_err(m)?;
    if info.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(TokenError::Malformed("not CMS SignedData".into()));
    }
    let sd: cms::signed_data::SignedData = info.content.decode_as().map_err(m)?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(TokenError::Malformed(
            "encapsulated content is not a TSTInfo".into(),
        ));
    }
    let tst_der = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| TokenError::Malformed("no TSTInfo content".into()))?
        .decode_as::<OctetString>()
        .map_err(m)?
        .into_bytes();
    let tst = TstInfo::from_der(&tst_der).map_err(m)?;
    let signers: Vec<_> = sd.signer_infos.0.iter().collect();
    let [si] = signers[..] else {
        return Err(TokenError::Malformed(format!(
            "{} signers, a token has exactly one",
            signers.len()
        )));
    };
    // The unsigned parts must agree with the signed ones (RFC 5652 §5.1): SignedData v3 for a
    // non-data eContentType, and the signer's digest listed in digestAlgorithms.
    if sd.version != cms::content_info::CmsVersion::V3 {
        return Err(TokenError::Malformed("SignedData version must be 3".into()));
    }
    if !sd
        .digest_algorithms
        .iter()
        .any(|a| a.oid == si.digest_alg.oid)
    {
        return Err(TokenError::Malformed(
            "the signer's digest algorithm is not in digestAlgorithms".into(),
        ));
    }
    let mut candidates: Vec<ParsedCert> = extra_certs.to_vec();
    for c in sd.certificates.iter().flat_map(|s| s.0.iter()) {
        if let cms::cert::CertificateChoices::Certificate(cert) = c
            && let Ok(p) = cert.to_der().map_err(m).and_then(|d| {
                ParsedCert::from_der(&d).map_err(|e| TokenError::Malformed(e.to_string()))
            })
        {
            candidates.push(p);
        }
    }
    let signer = candidates
        .into_iter()
        .find(|c| match &si.sid {
            cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(ias) => {
                tamga_pki::name::names_match(&ias.issuer, c.issuer())
                    && ias.serial_number.as_bytes() == c.serial()
            }
            cms::signed_data::SignerIdentifier::SubjectKeyIdentifier(ski) => {
                c.subject_key_id.as_deref() == Some(ski.0.as_bytes())
            }
        })
        .ok_or(TokenError::SignerUnknown)?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| TokenError::Attributes("no signed attributes".into()))?;
    let single = |oid: ObjectIdentifier, name: &str| -> Result<&Any, TokenError> {
        let a = attrs
            .iter()
            .find(|a| a.oid == oid)
            .ok_or_else(|| TokenError::Attributes(format!("{name} is missing")))?;
        let values: Vec<&Any> = a.values.iter().collect();
        match values[..] {
            [v] => Ok(v),
            _ => Err(TokenError::Attributes(format!(
                "{name} must have one value"
            ))),
        }
    };
    let content_type: ObjectIdentifier = single(ID_CONTENT_TYPE, "contentType")?
        .decode_as()
        .map_err(m)?;
    if content_type != ID_CT_TST_INFO {
        return Err(TokenError::Attributes(
            "contentType is not id-ct-TSTInfo".into(),
        ));
    }
    let digest = digest_of(&si.digest_alg.oid).ok_or_else(|| {
        TokenError::Attributes(format!("unsupported digest {}", si.digest_alg.oid))
    })?;
    let md: OctetString = single(ID_MESSAGE_DIGEST, "messageDigest")?
        .decode_as()
        .map_err(m)?;
    if aws_lc_rs::digest::digest(digest, &tst_der).as_ref() != md.as_bytes() {
        return Err(TokenError::Attributes(
            "messageDigest does not match the TSTInfo".into(),
        ));
    }
    // RFC 5816: signingCertificateV2; tokens from older TSAs carry signingCertificate (v1,
    // SHA-1 ESSCertID, RFC 2634), which still binds the certificate.
    if attrs.iter().any(|a| a.oid == ID_AA_SIGNING_CERTIFICATE_V2) {
        let ess: SigningCertificateV2 =
            single(ID_AA_SIGNING_CERTIFICATE_V2, "signingCertificateV2")?
                .decode_as()
                .map_err(m)?;
        let first = ess
            .certs
            .first()
            .ok_or_else(|| TokenError::Attributes("empty signingCertificateV2".into()))?;
        let ess_digest = match &first.hash_algorithm {
            None => &aws_lc_rs::digest::SHA256,
            Some(a) => digest_of(&a.oid).ok_or_else(|| {
                TokenError::Attributes(format!("unsupported ESSCertIDv2 hash {}", a.oid))
            })?,
        };
        if aws_lc_rs::digest::digest(ess_digest, &signer.der).as_ref() != first.cert_hash.as_bytes()
        {
            return Err(TokenError::Attributes(
                "signingCertificateV2 names another certificate".into(),
            ));
        }
    } else {
        let v1 = single(ID_AA_SIGNING_CERTIFICATE_V1, "signingCertificate(V2)")?;
        let ess: SigningCertificateV1 = v1.decode_as().map_err(m)?;
        let first = ess
            .certs
            .first()
            .ok_or_else(|| TokenError::Attributes("empty signingCertificate".into()))?;
        if aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &signer.der)
            .as_ref()
            != first.cert_hash.as_bytes()
        {
            return Err(TokenError::Attributes(
                "signingCertificate names another certificate".into(),
            ));
        }
    }
    let signed_der = attrs.to_der().map_err(m)?;
    tamga_pki::signature::verify_signed(
        &si.signature_algorithm,
        &signer.spki_der,
        &signed_der,
        si.signature.as_bytes(),
        policy,
    )
    .map_err(|e| TokenError::Signature(e.to_string()))?;
    let eku_critical = signer
        .cert
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .any(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE && e.critical);
    if !(eku_critical
        && signer
            .ext_key_usage
            .as_ref()
            .is_some_and(|e| e.0 == [const_oid::db::rfc5280::ID_KP_TIME_STAMPING]))
    {
        return Err(TokenError::NotATsa);
    }
    let imprint_algorithm = tst.message_imprint.hash_algorithm.oid;
    let imprint = tst.message_imprint.hashed_message.as_bytes().to_vec();
    if let Some(data) = data {
        let d = digest_of(&imprint_algorithm).ok_or_else(|| {
            TokenError::Malformed(format!("unsupported imprint algorithm {imprint_algorithm}"))
        })?;
        if aws_lc_rs::digest::digest(d, data).as_ref() != imprint.as_slice() {
            return Err(TokenError::ImprintMismatch);
        }
    }
    Ok(VerifiedToken {
        gen_time: i64::try_from(tst.gen_time.to_unix_duration().as_secs()).unwrap_or(i64::MAX),
        policy: tst.policy,
        serial: tst.serial_number.as_bytes().to_vec(),
        imprint_algorithm,
        imprint,
        signer,
    })
}
