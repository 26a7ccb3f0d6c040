//! The validation report: ETSI TS 119 102-2 (signature validation report) mapped to JSON, one
//! entry per signature, with the EN 319 102-1 indications and sub-indications, the proofs of
//! existence used, and a summary in Mongolian and English that a court clerk can read.

use serde::Serialize;

/// EN 319 102-1 §5.1.3 main indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum Indication {
    /// The signature is valid under the policy.
    TotalPassed,
    /// Not enough to decide (e.g. no revocation data, no proof of existence).
    Indeterminate,
    /// The signature is not valid.
    TotalFailed,
}

impl Indication {
    /// The TS 119 102-2 URI.
    pub fn uri(self) -> &'static str {
        match self {
            Indication::TotalPassed => "urn:etsi:019102:mainindication:total-passed",
            Indication::TotalFailed => "urn:etsi:019102:mainindication:total-failed",
            Indication::Indeterminate => "urn:etsi:019102:mainindication:indeterminate",
        }
    }

    /// TOTAL-PASSED etc.
    pub fn label(self) -> &'static str {
        match self {
            Indication::TotalPassed => "TOTAL-PASSED",
            Indication::TotalFailed => "TOTAL-FAILED",
            Indication::Indeterminate => "INDETERMINATE",
        }
    }
}

/// EN 319 102-1 §5.1.3 sub-indications (the ones this validator can reach).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum SubIndication {
    FormatFailure,
    HashFailure,
    SigCryptoFailure,
    Revoked,
    SigConstraintsFailure,
    ChainConstraintsFailure,
    CertificateChainGeneralFailure,
    CryptoConstraintsFailure,
    NoSigningCertificateFound,
    NoCertificateChainFound,
    RevokedNoPoe,
    OutOfBoundsNoPoe,
    TryLater,
    SignedDataNotFound,
}

impl SubIndication {
    /// The TS 119 102-2 URI.
    pub fn uri(self) -> String {
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("urn:etsi:019102:subindication:{s}")
    }

    /// The name as written in the standard.
    pub fn label(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Text in both of the platform's languages.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Bilingual {
    /// Mongolian (Cyrillic).
    pub mn: String,
    /// English.
    pub en: String,
}

/// A certificate, as the report names it.
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial, hex.
    pub serial: String,
    /// notBefore (RFC 3339).
    pub not_before: String,
    /// notAfter (RFC 3339).
    pub not_after: String,
    /// SHA-256 of the DER, hex: the validation object id.
    pub sha256: String,
}

/// A proof of existence (EN 319 102-1 §5.6.2.3).
#[derive(Debug, Clone, Serialize)]
pub struct Poe {
    /// RFC 3339.
    pub time: String,
    /// `signature-timestamp`, `document-timestamp`, `archive-timestamp`.
    pub kind: String,
    /// The TSA's subject.
    pub tsa: String,
    /// Whether the TSA's certificate path validated (only trusted time-stamps count).
    pub trusted: bool,
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    #[serde(skip)]
    pub(crate) secs: i64,
}

/// One signature's validation.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    /// `S-1`, `S-2`, … in signing order; countersignatures `S-1-C-1`.
    pub id: String,
    /// `signature`, `document-timestamp`, `countersignature`.
    pub kind: String,
    /// PDF field name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// e.g. `PAdES-BASELINE-LTA`, `CAdES-BASELINE-B`, `PKCS7` (not a baseline profile).
    pub format: String,
    /// The main indication.
    pub indication: Indication,
    /// Its URI.
    pub indication_uri: String,
    /// The sub-indication, when not passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_indication: Option<SubIndication>,
    /// Its URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_indication_uri: Option<String>,
    /// Why, step by step (building blocks that failed or warned).
    pub messages: Vec<String>,
    /// The signer's certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<CertInfo>,
    /// Certificate path used (trust anchor first), as SHA-256 ids.
    pub certificate_path: Vec<String>,
    /// signingTime / `/M`, as claimed by the signer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_signing_time: Option<String>,
    /// The earliest time the signature is proven to have existed (or the validation time).
    pub best_signature_time: String,
    /// Proofs of existence considered.
    pub proofs_of_existence: Vec<Poe>,
    /// What the PDF byte range covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<String>,
    /// Highest modification level after signing (PDF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modification_level: Option<String>,
    /// The changes made after signing (PDF).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modifications: Vec<String>,
    /// DocMDP permission of a certification signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docmdp: Option<u8>,
    /// For a countersignature: the signature it countersigns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub countersigns: Option<String>,
    /// The human summary.
    pub summary: Bilingual,
}

/// A validation object (TS 119 102-2 §4.4): everything the verdicts relied on.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationObject {
    /// SHA-256 of the DER, hex.
    pub id: String,
    /// `certificate`, `ocsp-response`, `crl`, `timestamp`.
    pub kind: String,
    /// A short description.
    pub description: String,
    /// The DER, base64.
    pub der_base64: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Report format.
    pub report_format: &'static str,
    /// The validation time (RFC 3339).
    pub validation_time: String,
    /// The validation policy in words.
    pub policy: String,
    /// The signed document.
    pub document: DocumentInfo,
    /// One entry per signature and time-stamp.
    pub signatures: Vec<SignatureReport>,
    /// Everything used.
    pub validation_objects: Vec<ValidationObject>,
    /// The overall verdict: the worst of the signatures (documents with none: TOTAL-FAILED).
    pub indication: Indication,
    /// Summary of all signatures.
    pub summary: Bilingual,
}

/// The validated document.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentInfo {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: usize,
    /// SHA-256 of the whole file, hex: filled by [`Report::identify_document`] (the CLI, the
    /// HTTP API and evidence bundles do), left out of the bare validation, which hashes only
    /// what the signatures cover.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `pdf`, `cms`.
    pub kind: String,
}

impl Report {
    /// Records the SHA-256 of the whole validated file in the report.
    pub fn identify_document(&mut self, bytes: &[u8]) {
        self.document.sha256 = Some(hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            bytes,
        )));
    }

    /// Overall indication: the worst of the regular signatures; document time-stamps count too.
    pub fn overall(signatures: &[SignatureReport]) -> Indication {
        signatures
            .iter()
            .map(|s| s.indication)
            .max()
            .unwrap_or(Indication::TotalFailed)
    }
}
