//! The trusted list: which trust services (CAs, TSAs) are accredited, with their status
//! history, signed. Modelled on ETSI TS 119 612 (TSL), in JSON and signed as a JWS (RFC 7515,
//! flattened JSON serialization) so any JOSE library can check it.
//!
//! Payload (`typ: tamga-trusted-list+json`):
//!
//! ```json
//! { "format": "tamga-trusted-list/1", "territory": "MN",
//!   "issued_at": "2026-11-27T10:00:00Z", "next_update": "2026-11-28T10:00:00Z",
//!   "services": [ { "name": "mn-citizen-ca", "kind": "ca",
//!                   "certificate": "<base64 DER>", "certificate_sha256": "<hex>",
//!                   "history": [ { "status": "granted", "from": "…", "actor": "…", "note": "…" },
//!                                { "status": "withdrawn", "from": "…", … } ] } ] }
//! ```
//!
//! A validator trusts a service "as of" time T when the last history entry with `from ≤ T`
//! says `granted` ([`TrustedList::trusted_at`]): a CA withdrawn in 2027 still anchors a
//! signature made in 2026.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use der::Decode;
use serde::{Deserialize, Serialize};
use tamga_keys::{KeyAlgorithm, SignatureAlgorithm, Signer};
use tamga_pki::time::{format_rfc3339, parse_rfc3339};
use tamga_store::TrustedListEntry;

use crate::TrustError;

/// One status period.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusPeriod {
    /// `granted` or `withdrawn`.
    pub status: String,
    /// From when (RFC 3339).
    pub from: String,
    /// Who decided.
    pub actor: String,
    /// Why.
    pub note: String,
}

/// One trust service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Service {
    /// Its name.
    pub name: String,
    /// `ca` or `tsa`.
    pub kind: String,
    /// Its certificate, base64 DER.
    pub certificate: String,
    /// SHA-256 of the certificate, hex.
    pub certificate_sha256: String,
    /// Status history, oldest first.
    pub history: Vec<StatusPeriod>,
}

/// The list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TrustedList {
    /// `tamga-trusted-list/1`.
    pub format: String,
    /// `MN`.
    pub territory: String,
    /// When it was signed.
    pub issued_at: String,
    /// When the next one is due.
    pub next_update: String,
    /// The services.
    pub services: Vec<Service>,
}

impl TrustedList {
    /// DER certificates of the services trusted at `time` (Unix seconds).
    pub fn trusted_at(&self, time: i64) -> Vec<Vec<u8>> {
        self.services
            .iter()
            .filter(|s| {
                s.history
                    .iter()
                    .rfind(|p| parse_rfc3339(&p.from).is_ok_and(|f| f <= time))
                    .is_some_and(|p| p.status == "granted")
            })
            .filter_map(|s| STANDARD.decode(&s.certificate).ok())
            .collect()
    }
}

/// The flattened JWS JSON serialization.
#[derive(Debug, Serialize, Deserialize)]
pub struct Jws {
    /// base64url(protected header JSON).
    pub protected: String,
    /// base64url(payload JSON).
    pub payload: String,
    /// base64url(signature).
    pub signature: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    kid: String,
    typ: String,
}

fn jose_alg(alg: SignatureAlgorithm) -> Option<&'static str> {
    Some(match alg {
        SignatureAlgorithm::EcdsaP256Sha256 => "ES256",
        SignatureAlgorithm::EcdsaP384Sha384 => "ES384",
        SignatureAlgorithm::Ed25519 => "EdDSA",
        SignatureAlgorithm::RsaPkcs1Sha256 => "RS256",
        SignatureAlgorithm::RsaPssSha256 => "PS256",
        _ => return None,
    })
}

#[derive(der::Sequence)]
struct EcdsaSig<'a> {
    r: der::asn1::UintRef<'a>,
    s: der::asn1::UintRef<'a>,
}

/// JOSE wants ECDSA as fixed-width r || s (RFC 7518 §3.4), not DER.
fn der_to_raw(der: &[u8], width: usize) -> Option<Vec<u8>> {
    let sig = EcdsaSig::from_der(der).ok()?;
    let mut out = vec![0u8; width * 2];
    for (i, part) in [sig.r.as_bytes(), sig.s.as_bytes()].into_iter().enumerate() {
        if part.len() > width {
            return None;
        }
        out[(i + 1) * width - part.len()..(i + 1) * width].copy_from_slice(part);
    }
    Some(out)
}

fn raw_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    der::Encode::to_der(&EcdsaSig {
        r: der::asn1::UintRef::new(r).ok()?,
        s: der::asn1::UintRef::new(s).ok()?,
    })
    .ok()
}

/// Builds and signs the list from the stored history.
pub fn sign(
    history: &[TrustedListEntry],
    certificates: &BTreeMap<String, Vec<u8>>,
    signer: &dyn Signer,
    now: i64,
) -> Result<String, TrustError> {
    let services = certificates
        .iter()
        .map(|(name, der)| Service {
            name: name.clone(),
            kind: history
                .iter()
                .find(|e| &e.service == name)
                .map_or("ca".into(), |e| e.kind.clone()),
            certificate: STANDARD.encode(der),
            certificate_sha256: hex::encode(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                der,
            )),
            history: history
                .iter()
                .filter(|e| &e.service == name)
                .map(|e| StatusPeriod {
                    status: e.status.clone(),
                    from: format_rfc3339(e.from_ms / 1000),
                    actor: e.actor.clone(),
                    note: e.note.clone(),
                })
                .collect(),
        })
        .collect();
    let list = TrustedList {
        format: "tamga-trusted-list/1".into(),
        territory: "MN".into(),
        issued_at: format_rfc3339(now),
        next_update: format_rfc3339(now + 86400),
        services,
    };
    let alg = signer.key_algorithm().default_signature();
    let jose = jose_alg(alg)
        .ok_or_else(|| TrustError::BadRequest(format!("no JOSE algorithm for {alg}")))?;
    let header = Header {
        alg: jose.into(),
        kid: signer.key_id(),
        typ: "tamga-trusted-list+json".into(),
    };
    let b64 = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
    let protected =
        b64(&serde_json::to_vec(&header).map_err(|e| TrustError::BadRequest(e.to_string()))?);
    let payload =
        b64(&serde_json::to_vec(&list).map_err(|e| TrustError::BadRequest(e.to_string()))?);
    let mut sig = signer.sign(alg, format!("{protected}.{payload}").as_bytes())?;
    match signer.key_algorithm() {
        KeyAlgorithm::EcP256 => {
            sig = der_to_raw(&sig, 32).ok_or(TrustError::BadRequest("ECDSA signature".into()))?
        }
        KeyAlgorithm::EcP384 => {
            sig = der_to_raw(&sig, 48).ok_or(TrustError::BadRequest("ECDSA signature".into()))?
        }
        _ => {}
    }
    serde_json::to_string_pretty(&Jws {
        protected,
        payload,
        signature: b64(&sig),
    })
    .map_err(|e| TrustError::BadRequest(e.to_string()))
}

/// Checks the list's signature with the list operator's public key (DER SPKI) and returns it.
pub fn verify(jws_json: &str, operator_spki: &[u8]) -> Result<TrustedList, String> {
    let jws: Jws =
        serde_json::from_str(jws_json).map_err(|e| format!("not a JWS JSON object: {e}"))?;
    let dec = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|e| format!("bad base64url: {e}"))
    };
    let header: Header = serde_json::from_slice(&dec(&jws.protected)?)
        .map_err(|e| format!("bad protected header: {e}"))?;
    let alg = match header.alg.as_str() {
        "ES256" => SignatureAlgorithm::EcdsaP256Sha256,
        "ES384" => SignatureAlgorithm::EcdsaP384Sha384,
        "EdDSA" => SignatureAlgorithm::Ed25519,
        "RS256" => SignatureAlgorithm::RsaPkcs1Sha256,
        "PS256" => SignatureAlgorithm::RsaPssSha256,
        other => return Err(format!("unsupported JWS algorithm {other:?}")),
    };
    let mut sig = dec(&jws.signature)?;
    if matches!(
        alg,
        SignatureAlgorithm::EcdsaP256Sha256 | SignatureAlgorithm::EcdsaP384Sha384
    ) {
        sig = raw_to_der(&sig).ok_or("malformed ECDSA signature")?;
    }
    tamga_keys::verify(
        alg,
        operator_spki,
        format!("{}.{}", jws.protected, jws.payload).as_bytes(),
        &sig,
    )
    .map_err(|e| format!("trusted list signature: {e}"))?;
    serde_json::from_slice(&dec(&jws.payload)?)
        .map_err(|e| format!("bad trusted list payload: {e}"))
}
