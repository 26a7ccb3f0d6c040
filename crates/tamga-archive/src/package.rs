//! The archive package: one document with everything that proves it, verifiable offline.
//!
//! An ASiC-S container (ETSI EN 319 162-1 §4.3) whose time assertion is an RFC 4998 evidence
//! record: `mimetype` (`application/vnd.etsi.asic-s+zip`, stored, first), the document at the
//! root, `META-INF/evidencerecord.ers` over it, and `META-INF/tamga-archive.json` with the
//! archival metadata (creator, classification, retention), the salted ledger commitment and,
//! when the ledger had published a checkpoint covering it, the offline ledger receipt.
//!
//! [`verify`] checks, without any network: the container's shape, the evidence record over the
//! document (every hash link and time-stamp, see [`crate::ers::verify`]), that the metadata
//! names this document, that the ledger commitment opens to it, and — given the log's public
//! key — the receipt's signature and inclusion proof.

use base64::Engine;
use serde_json::{Value, json};
use tamga_sign::zip::{self, Entry, Limits};
use tamga_store::ArchivedRow;

use crate::ers::{self, ErsError, ErsPolicy, ErsVerified, HashAlg};

/// The ASiC-S media type.
pub const MIMETYPE: &str = "application/vnd.etsi.asic-s+zip";
/// Where the evidence record is.
pub const ERS_PATH: &str = "META-INF/evidencerecord.ers";
/// Where the archival metadata is.
pub const METADATA_PATH: &str = "META-INF/tamga-archive.json";
/// The metadata format.
pub const FORMAT: &str = "tamga-archive-package/1";

/// Why a package does not verify.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Not a ZIP, or a refused one.
    #[error("not a readable container: {0}")]
    Zip(#[from] zip::ZipError),
    /// The container is not an archive package (mimetype, entries).
    #[error("not a Tamga archive package: {0}")]
    Shape(String),
    /// The metadata cannot be read.
    #[error("the archival metadata cannot be read: {0}")]
    Metadata(String),
    /// The metadata describes another document.
    #[error("the metadata describes another document: {0}")]
    MetadataMismatch(String),
    /// The evidence record does not prove the document.
    #[error("evidence record: {0}")]
    Evidence(#[from] ErsError),
    /// The ledger commitment or receipt does not hold.
    #[error("ledger: {0}")]
    Ledger(String),
}

/// What a verified package proves.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PackageReport {
    /// The archive's id.
    pub document_id: String,
    /// File name.
    pub file_name: String,
    /// Title.
    pub title: String,
    /// Creator.
    pub creator: String,
    /// Classification.
    pub classification: String,
    /// Kept until (RFC 3339).
    pub retention_until: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// The evidence record's verdict.
    pub evidence: ErsVerified,
    /// "receipt verified (tree size N)", "receipt not checked: …", or "no receipt …".
    pub ledger: String,
}

fn rfc3339_ms(ms: i64) -> String {
    tamga_pki::time::format_rfc3339(ms.div_euclid(1000))
}

/// Writes the package of a document.
pub fn write(
    row: &ArchivedRow,
    content: &[u8],
    evidence: &[u8],
    receipt: Option<Value>,
    log_vkey: &str,
) -> Result<Vec<u8>, zip::ZipError> {
    let commitment = tamga_ledger::commitment::salted(&row.salt, &row.sha256);
    let meta = json!({
        "format": FORMAT,
        "document_id": row.document_id,
        "file_name": row.file_name,
        "media_type": row.media_type,
        "title": row.title,
        "creator": row.creator,
        "classification": row.classification,
        "retention_until": rfc3339_ms(row.retention_until_ms),
        "ingested_at": rfc3339_ms(row.ingested_at_ms),
        "size_bytes": row.size_bytes,
        "sha256": hex::encode(&row.sha256),
        "ledger": {
            "log": row.ledger_log,
            "index": row.ledger_index,
            "salt": hex::encode(&row.salt),
            "commitment": hex::encode(commitment),
            "commitment_rule": "SHA-256(salt || SHA-256(document))",
            "log_vkey": log_vkey,
            "receipt": receipt,
        },
    });
    zip::write(&[
        Entry {
            name: "mimetype".into(),
            data: MIMETYPE.as_bytes().to_vec(),
        },
        Entry {
            name: row.file_name.clone(),
            data: content.to_vec(),
        },
        Entry {
            name: ERS_PATH.into(),
            data: evidence.to_vec(),
        },
        Entry {
            name: METADATA_PATH.into(),
            data: serde_json::to_vec_pretty(&meta).unwrap_or_default(),
        },
    ])
}

fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str, PackageError> {
    v[key]
        .as_str()
        .ok_or_else(|| PackageError::Metadata(format!("{key} is missing")))
}

/// Verifies a package offline (see the module documentation). `log_key` is the ledger log's
/// note verifier key (`vkey`); without it the receipt is not checked and the report says so.
pub fn verify(
    package: &[u8],
    policy: &ErsPolicy,
    log_key: Option<&str>,
) -> Result<PackageReport, PackageError> {
    let entries = zip::read(
        package,
        Limits {
            max_entries: 16,
            ..Limits::default()
        },
    )?;
    match entries.first() {
        Some(e) if e.name == "mimetype" && e.data == MIMETYPE.as_bytes() => {}
        Some(e) if e.name == "mimetype" => {
            return Err(PackageError::Shape(format!(
                "mimetype is {:?}, not {MIMETYPE}",
                String::from_utf8_lossy(&e.data)
            )));
        }
        _ => {
            return Err(PackageError::Shape(
                "the first entry is not mimetype".into(),
            ));
        }
    }
    let data: Vec<&Entry> = entries[1..]
        .iter()
        .filter(|e| !e.name.starts_with("META-INF/"))
        .collect();
    let [document] = data[..] else {
        return Err(PackageError::Shape(format!(
            "{} data objects; an ASiC-S package holds exactly one",
            data.len()
        )));
    };
    let find = |name: &str| entries.iter().find(|e| e.name == name);
    let ers_der =
        find(ERS_PATH).ok_or_else(|| PackageError::Shape(format!("{ERS_PATH} is missing")))?;
    let meta: Value = serde_json::from_slice(
        &find(METADATA_PATH)
            .ok_or_else(|| PackageError::Shape(format!("{METADATA_PATH} is missing")))?
            .data,
    )
    .map_err(|e| PackageError::Metadata(e.to_string()))?;
    if meta["format"] != FORMAT {
        return Err(PackageError::Metadata(format!(
            "format {} is not {FORMAT}",
            meta["format"]
        )));
    }
    let digest = HashAlg::Sha256.digest(&document.data);
    let sha_hex = hex::encode(&digest);
    if text(&meta, "sha256")? != sha_hex {
        return Err(PackageError::MetadataMismatch(format!(
            "its SHA-256 is {}, the document's is {sha_hex}",
            text(&meta, "sha256")?
        )));
    }
    if text(&meta, "file_name")? != document.name {
        return Err(PackageError::MetadataMismatch(format!(
            "it names {:?}, the package holds {:?}",
            text(&meta, "file_name")?,
            document.name
        )));
    }
    let record = ers::parse(&ers_der.data)?;
    let evidence = ers::verify(&record, &document.data, policy)?;

    let ledger = &meta["ledger"];
    let salt = hex::decode(text(ledger, "salt")?)
        .map_err(|e| PackageError::Metadata(format!("salt: {e}")))?;
    let commitment = tamga_ledger::commitment::salted(&salt, &digest);
    if text(ledger, "commitment")? != hex::encode(commitment) {
        return Err(PackageError::Ledger(
            "the commitment does not open to this document with this salt".into(),
        ));
    }
    let ledger_status = match (&ledger["receipt"], log_key) {
        (Value::Null, _) => {
            "no receipt in the package (made before a checkpoint covered the entry): fetch one with `tamga ledger prove`".to_owned()
        }
        (r, key) => {
            let receipt: tamga_ledger::receipt::Receipt = serde_json::from_value(r.clone())
                .map_err(|e| PackageError::Ledger(format!("receipt: {e}")))?;
            let entry = base64::engine::general_purpose::STANDARD
                .decode(&receipt.entry)
                .map_err(|e| PackageError::Ledger(format!("receipt entry: {e}")))?;
            if entry != commitment {
                return Err(PackageError::Ledger(
                    "the receipt is for another entry than this document's commitment".into(),
                ));
            }
            if ledger["index"].as_u64() != Some(receipt.index) {
                return Err(PackageError::Ledger(
                    "the receipt is for another index than the metadata names".into(),
                ));
            }
            match key {
                Some(key) => {
                    let verifier = tamga_ledger::note::Verifier::from_vkey(key)
                        .map_err(|e| PackageError::Ledger(format!("log key: {e}")))?;
                    let v = tamga_ledger::receipt::verify(&receipt, &verifier, &[], 0)
                        .map_err(PackageError::Ledger)?;
                    format!(
                        "receipt verified: entry {} is in the log {} (tree size {})",
                        receipt.index, receipt.origin, v.size
                    )
                }
                None => "receipt present, not checked: give the log's public key".to_owned(),
            }
        }
    };
    Ok(PackageReport {
        document_id: text(&meta, "document_id")?.to_owned(),
        file_name: document.name.clone(),
        title: text(&meta, "title")?.to_owned(),
        creator: text(&meta, "creator")?.to_owned(),
        classification: text(&meta, "classification")?.to_owned(),
        retention_until: text(&meta, "retention_until")?.to_owned(),
        sha256: sha_hex,
        evidence,
        ledger: ledger_status,
    })
}
