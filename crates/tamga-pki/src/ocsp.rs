//! OCSP (RFC 6960): answering requests as a delegated responder, and checking responses.
//!
//! Responder: requests are matched against the CA by issuer name hash and issuer key hash
//! (SHA-1 or SHA-256 CertIDs, §4.1.1); a request for another CA gets `unauthorized` (§2.3), an
//! unparsable one `malformedRequest`. Responses are signed by the delegated responder
//! certificate (id-kp-OCSPSigning, §4.2.2.2), carry it in `certs`, identify it by key hash, and
//! echo the nonce (RFC 8954). Statuses: good, revoked (time and reason), unknown.
//!
//! Checker: [`check_response`] verifies a response for a certificate: signature by the issuing
//! CA or by a responder certificate the CA issued with id-kp-OCSPSigning, matching CertID,
//! and thisUpdate ≤ time ≤ nextUpdate.

use const_oid::db::{rfc5280 as oids, rfc5912, rfc6960};
use der::asn1::{Null, OctetString};
use der::{Any, Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use tamga_keys::Signer;
use x509_cert::Certificate;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::serial_number::SerialNumber;
use x509_ocsp::ext::Nonce;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    OcspResponseStatus, ResponderId, ResponseData, RevokedInfo, SingleResponse,
};

use crate::builder::{BuildError, extension, generalized_time, signature_algorithm_identifier};
use crate::cert::ParsedCert;
use crate::crl::CrlStatus;
use crate::name::names_match;
use crate::signature::{AlgorithmPolicy, verify_signed};

/// What the responder knows about one serial number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialStatus {
    /// Issued and not revoked.
    Good,
    /// Revoked.
    Revoked {
        /// When, Unix seconds.
        at: i64,
        /// Why.
        reason: Option<CrlReason>,
    },
    /// Not issued by this CA (as far as the responder knows).
    Unknown,
}

fn hash(alg: &AlgorithmIdentifierOwned, data: &[u8]) -> Option<Vec<u8>> {
    let d = match alg.oid {
        rfc5912::ID_SHA_1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        rfc5912::ID_SHA_256 => &aws_lc_rs::digest::SHA256,
        rfc5912::ID_SHA_384 => &aws_lc_rs::digest::SHA384,
        rfc5912::ID_SHA_512 => &aws_lc_rs::digest::SHA512,
        _ => return None,
    };
    Some(aws_lc_rs::digest::digest(d, data).as_ref().to_vec())
}

/// Whether `id` names a certificate issued by `ca`.
fn cert_id_is_for(id: &CertId, ca: &ParsedCert) -> bool {
    let Ok(name_der) = ca.subject().to_der() else {
        return false;
    };
    let key_bits = ca
        .cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    hash(&id.hash_algorithm, &name_der).is_some_and(|h| h == id.issuer_name_hash.as_bytes())
        && hash(&id.hash_algorithm, key_bits).is_some_and(|h| h == id.issuer_key_hash.as_bytes())
}

/// A CertID for `serial` under `ca`, with SHA-256 (SHA-1 where `sha1`).
pub fn cert_id(ca: &ParsedCert, serial: &[u8], sha1: bool) -> Result<CertId, BuildError> {
    let alg = AlgorithmIdentifierOwned {
        oid: if sha1 {
            rfc5912::ID_SHA_1
        } else {
            rfc5912::ID_SHA_256
        },
        parameters: Some(Any::from(Null)),
    };
    let name_hash = hash(&alg, &ca.subject().to_der()?).unwrap_or_default();
    let key_bits = ca
        .cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let key_hash = hash(&alg, key_bits).unwrap_or_default();
    Ok(CertId {
        hash_algorithm: alg,
        issuer_name_hash: OctetString::new(name_hash)?,
        issuer_key_hash: OctetString::new(key_hash)?,
        serial_number: SerialNumber::new(serial)?,
    })
}

/// A delegated OCSP responder for one CA.
pub struct Responder<'a> {
    /// The CA's certificate.
    pub ca: &'a ParsedCert,
    /// The responder's certificate (issued by the CA, id-kp-OCSPSigning).
    pub responder_cert: &'a ParsedCert,
    /// The responder's key.
    pub signer: &'a dyn Signer,
    /// How long a response stays valid (nextUpdate − thisUpdate), seconds.
    pub validity_secs: i64,
}

/// A parsed request: the serial numbers asked for and the nonce.
#[derive(Debug, Clone)]
pub struct ParsedRequest {
    /// The CertIDs.
    pub cert_ids: Vec<CertId>,
    /// The nonce, if any.
    pub nonce: Option<Vec<u8>>,
}

/// Parses a DER OCSPRequest; `None` means malformed.
pub fn parse_request(der: &[u8]) -> Option<ParsedRequest> {
    let req = OcspRequest::from_der(der).ok()?;
    if req.tbs_request.request_list.is_empty() {
        return None;
    }
    let nonce = req.nonce().map(|n| n.0.as_bytes().to_vec());
    Some(ParsedRequest {
        cert_ids: req
            .tbs_request
            .request_list
            .into_iter()
            .map(|r| r.req_cert)
            .collect(),
        nonce,
    })
}

/// An OCSPResponse with only a status (malformedRequest, unauthorized, …).
pub fn status_only(status: OcspResponseStatus) -> Vec<u8> {
    OcspResponse {
        response_status: status,
        response_bytes: None,
    }
    .to_der()
    .unwrap_or_default()
}

impl Responder<'_> {
    /// Whether every CertID in `req` is for this responder's CA.
    pub fn serves(&self, req: &ParsedRequest) -> bool {
        req.cert_ids.iter().all(|id| cert_id_is_for(id, self.ca))
    }

    /// Signs a response for `req` at `now`, asking `lookup` for each serial.
    pub fn respond(
        &self,
        req: &ParsedRequest,
        now: i64,
        lookup: impl Fn(&[u8]) -> SerialStatus,
    ) -> Result<Vec<u8>, BuildError> {
        if !self.serves(req) {
            return Ok(status_only(OcspResponseStatus::Unauthorized));
        }
        let mut responses = Vec::with_capacity(req.cert_ids.len());
        for id in &req.cert_ids {
            let status = match lookup(id.serial_number.as_bytes()) {
                SerialStatus::Good => CertStatus::good(),
                SerialStatus::Revoked { at, reason } => CertStatus::Revoked(RevokedInfo {
                    revocation_time: OcspGeneralizedTime(generalized_time(at)?),
                    revocation_reason: reason,
                }),
                SerialStatus::Unknown => CertStatus::unknown(),
            };
            responses.push(SingleResponse {
                cert_id: id.clone(),
                cert_status: status,
                this_update: OcspGeneralizedTime(generalized_time(now)?),
                next_update: Some(OcspGeneralizedTime(generalized_time(
                    now + self.validity_secs,
                )?)),
                single_extensions: None,
            });
        }
        let key_bits = self
            .responder_cert
            .cert
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes();
        let key_hash =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, key_bits);
        let extensions = match &req.nonce {
            Some(n) => Some(vec![extension(
                rfc6960::ID_PKIX_OCSP_NONCE,
                false,
                &Nonce(OctetString::new(n.clone())?),
            )?]),
            None => None,
        };
        let data = ResponseData {
            version: Default::default(),
            responder_id: ResponderId::ByKey(OctetString::new(key_hash.as_ref())?),
            produced_at: OcspGeneralizedTime(generalized_time(now)?),
            responses,
            response_extensions: extensions,
        };
        let data_der = data.to_der()?;
        let alg = self.signer.key_algorithm().default_signature();
        let sig = self.signer.sign(alg, &data_der)?;
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm: signature_algorithm_identifier(alg)?,
            signature: der::asn1::BitString::from_bytes(&sig)?,
            certs: Some(vec![self.responder_cert.cert.clone()]),
        };
        Ok(OcspResponse::successful(basic)?.to_der()?)
    }
}

/// A decoded BasicOCSPResponse, ready to be asked about certificates.
#[derive(Debug, Clone)]
pub struct ParsedResponse {
    basic: BasicOcspResponse,
    data_der: Vec<u8>,
    responder_certs: Vec<ParsedCert>,
}

/// Decoded responses by content (SHA-256 of the DER): long-term validation meets the same
/// embedded responses in every path it builds and every signature of a document. Keyed by
/// content, so a hit is the same bytes; bounded, and cleared when full.
fn parsed_cache()
-> &'static std::sync::Mutex<std::collections::HashMap<[u8; 32], std::sync::Arc<ParsedResponse>>> {
    static C: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<[u8; 32], std::sync::Arc<ParsedResponse>>>,
    > = std::sync::OnceLock::new();
    C.get_or_init(Default::default)
}

impl ParsedResponse {
    /// As [`ParsedResponse::from_der`], through a bounded content-addressed cache.
    pub fn from_der_cached(response_der: &[u8]) -> Result<std::sync::Arc<Self>, String> {
        let mut key = [0u8; 32];
        key.copy_from_slice(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, response_der).as_ref(),
        );
        if let Some(hit) = parsed_cache()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(std::sync::Arc::clone(hit));
        }
        let parsed = std::sync::Arc::new(Self::from_der(response_der)?);
        let mut cache = parsed_cache().lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= 4096 {
            cache.clear();
        }
        cache.insert(key, std::sync::Arc::clone(&parsed));
        Ok(parsed)
    }

    /// Decodes a DER OCSPResponse; only a successful basic response is usable.
    pub fn from_der(response_der: &[u8]) -> Result<Self, String> {
        let resp = OcspResponse::from_der(response_der)
            .map_err(|e| format!("not an OCSP response: {e}"))?;
        if resp.response_status != OcspResponseStatus::Successful {
            return Err(format!("responder answered {:?}", resp.response_status));
        }
        let bytes = resp
            .response_bytes
            .ok_or("successful response without responseBytes")?;
        if bytes.response_type != rfc6960::ID_PKIX_OCSP_BASIC {
            return Err(format!("unsupported response type {}", bytes.response_type));
        }
        let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
            .map_err(|e| format!("malformed BasicOCSPResponse: {e}"))?;
        let data_der = basic
            .tbs_response_data
            .to_der()
            .map_err(|e| e.to_string())?;
        let responder_certs = basic
            .certs
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter_map(|c: &Certificate| {
                c.to_der().ok().and_then(|d| ParsedCert::from_der(&d).ok())
            })
            .collect();
        Ok(Self {
            basic,
            data_der,
            responder_certs,
        })
    }

    fn signed_by(
        &self,
        issuer: &ParsedCert,
        time: i64,
        policy: AlgorithmPolicy,
        trusted: &[ParsedCert],
    ) -> bool {
        let basic = &self.basic;
        let verify_with = |spki: &[u8]| {
            verify_signed(
                &basic.signature_algorithm,
                spki,
                &self.data_der,
                basic.signature.raw_bytes(),
                policy,
            )
            .is_ok()
        };
        // The ResponderID says who signed (§4.2.2.3): check only that candidate's signature.
        let named = |c: &ParsedCert| match &basic.tbs_response_data.responder_id {
            ResponderId::ByName(n) => names_match(n, c.subject()),
            ResponderId::ByKey(h) => {
                let bits = c
                    .cert
                    .tbs_certificate
                    .subject_public_key_info
                    .subject_public_key
                    .raw_bytes();
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bits)
                    .as_ref()
                    == h.as_bytes()
            }
        };
        if named(issuer) {
            return verify_with(&issuer.spki_der);
        }
        // A responder the relying party trusts directly (a trust anchor, as OCSP services are
        // in EU trusted lists).
        if trusted.iter().any(|t| named(t) && verify_with(&t.spki_der)) {
            return true;
        }
        // A delegated responder: issued by the CA, for OCSP signing, valid now.
        self.responder_certs.iter().any(|r| {
            named(r)
                && names_match(r.issuer(), issuer.subject())
                && r.ext_key_usage
                    .as_ref()
                    .is_some_and(|e| e.0.contains(&oids::ID_KP_OCSP_SIGNING))
                && time >= r.not_before
                && time <= r.not_after
                && verify_signed(
                    &r.cert.signature_algorithm,
                    &issuer.spki_der,
                    &r.tbs_der,
                    r.cert.signature.raw_bytes(),
                    policy,
                )
                .is_ok()
                && verify_with(&r.spki_der)
        })
    }

    /// What this response says about `cert` (issued by `issuer`) at `time`; `Err` when it does
    /// not speak for it (another certificate, not signed by the CA or its responder).
    pub fn status_for(
        &self,
        cert: &ParsedCert,
        issuer: &ParsedCert,
        time: i64,
        policy: AlgorithmPolicy,
        trusted: &[ParsedCert],
    ) -> Result<CrlStatus, String> {
        let single = self
            .basic
            .tbs_response_data
            .responses
            .iter()
            .find(|s| {
                s.cert_id.serial_number.as_bytes() == cert.serial()
                    && cert_id_is_for(&s.cert_id, issuer)
            })
            .ok_or("the response does not cover this certificate")?;
        if !self.signed_by(issuer, time, policy, trusted) {
            return Err("the response is not signed by the CA or a responder it authorised".into());
        }
        let secs = |t: &OcspGeneralizedTime| {
            i64::try_from(t.0.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        // Five minutes of clock skew either way.
        if secs(&single.this_update) > time + 300 {
            return Err("the response's thisUpdate is in the future".into());
        }
        if let Some(next) = &single.next_update
            && secs(next) + 300 < time
        {
            return Ok(CrlStatus::Stale(
                "the OCSP response's nextUpdate has passed".into(),
            ));
        }
        Ok(match &single.cert_status {
            CertStatus::Good(_) => CrlStatus::Good,
            CertStatus::Revoked(info) => CrlStatus::Revoked {
                at: secs(&info.revocation_time),
                reason: info.revocation_reason.map(|r| format!("{r:?}")),
            },
            CertStatus::Unknown(_) => {
                CrlStatus::Unknown("the responder does not know this certificate".into())
            }
        })
    }
}

impl ParsedResponse {
    /// What this response says about `cert` as of a past `time` (long-term validation): a
    /// revocation after `time` leaves it good then; "good" counts when the response was issued
    /// after `time` or at most [`crate::crl::PAST_FRESHNESS`] before it. The responder is
    /// judged as of the response's producedAt.
    pub fn status_as_of(
        &self,
        cert: &ParsedCert,
        issuer: &ParsedCert,
        time: i64,
        policy: AlgorithmPolicy,
        trusted: &[ParsedCert],
    ) -> Result<CrlStatus, String> {
        let single = self
            .basic
            .tbs_response_data
            .responses
            .iter()
            .find(|s| {
                s.cert_id.serial_number.as_bytes() == cert.serial()
                    && cert_id_is_for(&s.cert_id, issuer)
            })
            .ok_or("the response does not cover this certificate")?;
        let secs = |t: &OcspGeneralizedTime| {
            i64::try_from(t.0.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        let produced = secs(&self.basic.tbs_response_data.produced_at);
        if !self.signed_by(issuer, produced, policy, trusted) {
            return Err("the response is not signed by the CA or a responder it authorised".into());
        }
        match &single.cert_status {
            CertStatus::Revoked(info) if secs(&info.revocation_time) <= time => {
                Ok(CrlStatus::Revoked {
                    at: secs(&info.revocation_time),
                    reason: info.revocation_reason.map(|r| format!("{r:?}")),
                })
            }
            CertStatus::Unknown(_) => Ok(CrlStatus::Unknown(
                "the responder does not know this certificate".into(),
            )),
            _ if secs(&single.this_update) + crate::crl::PAST_FRESHNESS < time => Ok(
                CrlStatus::Stale("the OCSP response is older than the validation time".into()),
            ),
            _ => Ok(CrlStatus::Good),
        }
    }

    /// The certificates the response carries (its responder's, usually).
    pub fn certificates(&self) -> &[ParsedCert] {
        &self.responder_certs
    }

    /// producedAt, Unix seconds.
    pub fn produced_at(&self) -> i64 {
        i64::try_from(
            self.basic
                .tbs_response_data
                .produced_at
                .0
                .to_unix_duration()
                .as_secs(),
        )
        .unwrap_or(i64::MAX)
    }
}

/// Verifies an OCSP response about `cert` (issued by `issuer`) at `time`.
pub fn check_response(
    response_der: &[u8],
    cert: &ParsedCert,
    issuer: &ParsedCert,
    time: i64,
    policy: AlgorithmPolicy,
) -> Result<CrlStatus, String> {
    ParsedResponse::from_der(response_der)?.status_for(cert, issuer, time, policy, &[])
}

/// Builds a DER OCSPRequest for `serial` under `ca` with an optional nonce (a client helper,
/// used by tests and the CLI).
pub fn build_request(
    ca: &ParsedCert,
    serial: &[u8],
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, BuildError> {
    let req = x509_ocsp::OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: Default::default(),
            requestor_name: None,
            request_list: vec![x509_ocsp::Request {
                req_cert: cert_id(ca, serial, true)?,
                single_request_extensions: None,
            }],
            request_extensions: match nonce {
                Some(n) => Some(vec![extension(
                    rfc6960::ID_PKIX_OCSP_NONCE,
                    false,
                    &Nonce(OctetString::new(n)?),
                )?]),
                None => None,
            },
        },
        optional_signature: None,
    };
    Ok(req.to_der()?)
}
