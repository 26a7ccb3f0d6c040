//! Exporting a message-log record with everything that proves it — both signatures with the
//! certificates that made them, the batch's RFC 3161 time-stamp and the record's inclusion in
//! the batch, the ledger receipt — and checking such an export offline
//! (`tamga exchange verify-record`).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tamga_ledger::note::Verifier;
use tamga_ledger::receipt::Receipt;

use crate::digest::verify_content_digest;
use crate::gateway::{Gateway, RECORD_FORMAT};
use crate::globalconf::sha256;
use crate::httpsig;
use crate::messagelog::{Accountability, exchange_entry, leaf_of};

/// Export format name.
pub const FORMAT: &str = "tamga-exchange-record-export/1";

/// One exported record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordExport {
    /// [`FORMAT`].
    pub format: String,
    /// The record text, exactly as hashed.
    pub record: String,
    /// Its SHA-256 (hex).
    pub record_hash: String,
    /// Signing certificates by key id (base64 DER).
    pub certificates: BTreeMap<String, String>,
    /// Batch, time-stamp and ledger index.
    pub accountability: Accountability,
    /// The ledger receipt of the record's `exchange` entry.
    pub ledger_receipt: Receipt,
}

/// Both records (consumer and provider side, whichever this gateway holds) of an exchange,
/// once accountable; `None` when none is, yet.
pub async fn export(gw: &Gateway, x_road_id: &str) -> Result<Option<Vec<RecordExport>>, String> {
    let log = gw.message_log();
    let recs = log
        .store()
        .exchange_records_by_id(log.gateway(), x_road_id)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for r in recs {
        let Some(acc) = log.accountability(r.seq).await.map_err(|e| e.to_string())? else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&r.record).map_err(|e| e.to_string())?;
        let mut certificates = BTreeMap::new();
        for part in ["request", "response"] {
            if let Some(k) = v[part]["keyid"].as_str()
                && let Some(c) = gw.certificate_of(k)
            {
                certificates.insert(k.to_owned(), STANDARD.encode(c));
            }
        }
        let ledger_receipt = gw
            .ledger()
            .receipt("exchange", acc.ledger_index)
            .await
            .map_err(|e| format!("ledger receipt: {e}"))?;
        out.push(RecordExport {
            format: FORMAT.into(),
            record: r.record,
            record_hash: hex::encode(&r.record_hash),
            certificates,
            accountability: acc,
            ledger_receipt,
        });
    }
    Ok((!out.is_empty()).then_some(out))
}

/// What a verified export establishes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VerifiedRecord {
    /// `consumer` or `provider`.
    pub side: String,
    /// Exchange id.
    pub x_road_id: String,
    /// Client subsystem.
    pub client: String,
    /// Service.
    pub service: String,
    /// HTTP status.
    pub status: u64,
    /// Subjects of the certificates whose signatures verified.
    pub signers: Vec<String>,
    /// The time-stamp's genTime (Unix seconds).
    pub timestamped_at: i64,
    /// The TSA's certificate subject.
    pub tsa: String,
    /// Ledger index and checkpoint size.
    pub ledger_index: u64,
    /// Checkpoint size.
    pub ledger_size: u64,
    /// Witnesses that cosigned that checkpoint.
    pub witnesses: Vec<String>,
}

fn line_value<'a>(base: &'a str, component: &str) -> Option<&'a str> {
    base.lines()
        .find_map(|l| l.strip_prefix(&format!("\"{component}\": ")))
}

fn check_part(
    v: &serde_json::Value,
    part: &str,
    certs: &BTreeMap<String, String>,
) -> Result<(String, String), String> {
    let base = v[part]["signature_base"]
        .as_str()
        .ok_or(format!("no {part} signature"))?;
    let sig = STANDARD
        .decode(v[part]["signature"].as_str().unwrap_or_default())
        .map_err(|_| format!("{part} signature is not base64"))?;
    let keyid = v[part]["keyid"].as_str().unwrap_or_default();
    let der = STANDARD
        .decode(
            certs
                .get(keyid)
                .ok_or(format!("no certificate for the {part} key id"))?,
        )
        .map_err(|_| "certificate is not base64".to_owned())?;
    if hex::encode(sha256(&der)) != keyid {
        return Err(format!("the {part} certificate does not match its key id"));
    }
    let cert = tamga_pki::ParsedCert::from_der(&der).map_err(|e| e.to_string())?;
    let alg = algorithm_of(&cert.spki_der).ok_or("unsupported signing key")?;
    httpsig::verify(alg, &cert.spki_der, base.as_bytes(), &sig)
        .map_err(|e| format!("{part} signature: {e}"))?;
    if !line_value(base, "@signature-params")
        .is_some_and(|p| p.contains(&format!("keyid=\"{keyid}\"")))
    {
        return Err(format!("the {part} signature names another key"));
    }
    Ok((base.to_owned(), cert.subject_string()))
}

fn algorithm_of(spki: &[u8]) -> Option<httpsig::Algorithm> {
    let k = tamga_keys_kind(spki)?;
    Some(httpsig::Algorithm::for_key(k))
}

fn tamga_keys_kind(spki: &[u8]) -> Option<tamga_keys::KeyAlgorithm> {
    use der::Decode;
    let s = spki::SubjectPublicKeyInfoRef::from_der(spki).ok()?;
    let oid = s.algorithm.oid;
    if oid == const_oid::db::rfc8410::ID_ED_25519 {
        return Some(tamga_keys::KeyAlgorithm::Ed25519);
    }
    if oid == const_oid::db::rfc5912::RSA_ENCRYPTION {
        return Some(tamga_keys::KeyAlgorithm::Rsa2048);
    }
    if oid == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY {
        let curve: const_oid::ObjectIdentifier = s.algorithm.parameters?.decode_as().ok()?;
        if curve == const_oid::db::rfc5912::SECP_256_R_1 {
            return Some(tamga_keys::KeyAlgorithm::EcP256);
        }
        if curve == const_oid::db::rfc5912::SECP_384_R_1 {
            return Some(tamga_keys::KeyAlgorithm::EcP384);
        }
    }
    None
}

/// Verifies an export offline with the `exchange` log's key and the witnesses' keys
/// (`quorum` of them must have cosigned the receipt's checkpoint).
pub fn verify(
    e: &RecordExport,
    log_key: &Verifier,
    witnesses: &[Verifier],
    quorum: usize,
) -> Result<VerifiedRecord, String> {
    if e.format != FORMAT {
        return Err(format!("unknown export format {:?}", e.format));
    }
    let hash = sha256(e.record.as_bytes());
    if hex::encode(hash) != e.record_hash {
        return Err("the record does not match its hash: it was changed".into());
    }
    let v: serde_json::Value =
        serde_json::from_str(&e.record).map_err(|x| format!("record: {x}"))?;
    if v["format"] != RECORD_FORMAT {
        return Err("not a Tamga exchange record".into());
    }
    let mut signers = Vec::new();
    let (req_base, s1) = check_part(&v, "request", &e.certificates)?;
    signers.push(s1);
    if !v["response"].is_null() {
        let (resp_base, s2) = check_part(&v, "response", &e.certificates)?;
        signers.push(s2);
        let want = STANDARD.encode(sha256(req_base.as_bytes()));
        if line_value(&resp_base, "x-road-request-hash") != Some(want.as_str()) {
            return Err("the response is not bound to the request".into());
        }
        if let Some(b) = v["bodies"]["response"].as_str() {
            let body = STANDARD
                .decode(b)
                .map_err(|_| "response body is not base64")?;
            verify_content_digest(
                line_value(&resp_base, "content-digest").unwrap_or_default(),
                &body,
            )
            .map_err(|x| format!("response body: {x}"))?;
        }
    }
    if let Some(b) = v["bodies"]["request"].as_str() {
        let body = STANDARD
            .decode(b)
            .map_err(|_| "request body is not base64")?;
        verify_content_digest(
            line_value(&req_base, "content-digest").unwrap_or_default(),
            &body,
        )
        .map_err(|x| format!("request body: {x}"))?;
    }
    // The batch: inclusion and time-stamp.
    let a = &e.accountability;
    let root = STANDARD
        .decode(&a.root)
        .map_err(|_| "batch root is not base64")?;
    let proof: Vec<Vec<u8>> = a
        .proof
        .iter()
        .map(|h| STANDARD.decode(h))
        .collect::<Result<_, _>>()
        .map_err(|_| "batch proof is not base64")?;
    tamga_ledger::merkle::verify_inclusion(
        a.leaf_index,
        a.batch_size,
        &leaf_of(&hash),
        &proof,
        &root,
    )
    .map_err(|x| format!("the record is not in its time-stamped batch: {x}"))?;
    let token = STANDARD
        .decode(&a.tsa_token)
        .map_err(|_| "token is not base64")?;
    let t = tamga_tsa::verify_token(&token, None, &[], tamga_pki::AlgorithmPolicy::Strict)
        .map_err(|x| format!("time-stamp: {x}"))?;
    if t.imprint != root {
        return Err("the time-stamp is over another batch".into());
    }
    // The ledger.
    let r = &e.ledger_receipt;
    let verified = tamga_ledger::receipt::verify(r, log_key, witnesses, quorum)
        .map_err(|x| format!("ledger receipt: {x}"))?;
    let entry = STANDARD
        .decode(&r.entry)
        .map_err(|_| "receipt entry is not base64")?;
    if entry != exchange_entry(&hash) || r.index != a.ledger_index {
        return Err("the ledger receipt is for another entry".into());
    }
    Ok(VerifiedRecord {
        side: v["side"].as_str().unwrap_or_default().into(),
        x_road_id: v["x_road_id"].as_str().unwrap_or_default().into(),
        client: v["client"].as_str().unwrap_or_default().into(),
        service: v["service"].as_str().unwrap_or_default().into(),
        status: v["status"].as_u64().unwrap_or_default(),
        signers,
        timestamped_at: t.gen_time,
        tsa: t.signer.subject_string(),
        ledger_index: r.index,
        ledger_size: verified.size,
        witnesses: verified.witnesses,
    })
}
