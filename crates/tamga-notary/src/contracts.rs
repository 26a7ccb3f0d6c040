//! The contract workflow: a party uploads the contract PDF and names the parties (citizens by
//! registration number; companies by their state register number and the representative who
//! signs); each party adds one PAdES signature to exactly the current version; a notary (an
//! official certificate of a person on the notaries' list) checks identities and capacity and
//! countersigns; the act is completed to PAdES B-LTA, entered in the notarial register with a
//! number and a verification code, and its salted commitment appended to the ledger's `notary`
//! log; the notarised contract goes to each party's wallet.
//!
//! Every refusal names its reason: another version signed, a signer who is not a party (or
//! already signed, or out of turn), a signature that does not validate, a notary who is not on
//! the list or signs without an official certificate, a representative without a mandate, a
//! deadline passed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use const_oid::ObjectIdentifier as Oid;
use serde::{Deserialize, Serialize};
use tamga_ledger::log::Log;
use tamga_pki::ParsedCert;
use tamga_pki::identity::RegistrationNumber;
use tamga_sign::http::AnchorSource;
use tamga_sign::report::{Indication, Report};
use tamga_sign::validate::{Policy, RevocationRequirement};
use tamga_store::{ContractRow, RegisterRow, Store};

/// Completes a notarised PDF to PAdES B-LTA (validation data and a document time-stamp).
pub trait Extender: Send + Sync {
    /// The PDF with every signature's validation data and a document time-stamp.
    fn extend_lta(&self, pdf: &[u8]) -> Result<Vec<u8>, String>;
}

/// Puts a notarised contract into a party's wallet.
pub trait Wallet: Send + Sync {
    /// Adds `pdf` (titled `title`) to the wallet of `owner` (a registration number).
    fn deliver<'a>(
        &'a self,
        owner: &'a str,
        title: &'a str,
        pdf: &'a [u8],
        register_number: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// Keeps notarised contracts in the electronic archive.
pub trait Archiver: Send + Sync {
    /// Archives `pdf` (the notarised act `register_number`); returns the archive's id.
    fn archive<'a>(
        &'a self,
        title: &'a str,
        register_number: &'a str,
        pdf: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;
}

/// Why a step was refused.
#[derive(Debug, thiserror::Error)]
pub enum NotaryError {
    /// The request is malformed (no parties, bad registration number, not a PDF, …).
    #[error("{0}")]
    Invalid(String),
    /// No such contract or act.
    #[error("not found: {0}")]
    NotFound(String),
    /// The uploaded file is not the current version plus one signature.
    #[error(
        "the signed file is not the current version of the contract (it must begin with exactly the bytes of the version to sign)"
    )]
    DifferentVersion,
    /// More or fewer than one new signature.
    #[error("the file adds {0} signatures; each step adds exactly one")]
    NotOneNewSignature(usize),
    /// The new signature does not validate.
    #[error("the signature does not validate: {0}")]
    InvalidSignature(String),
    /// The signer is not one of the parties.
    #[error("the signer {0} is not a party to this contract")]
    NotAParty(String),
    /// The party has signed already.
    #[error("{0} has signed already")]
    AlreadySigned(String),
    /// Signing order.
    #[error("the parties sign in order: {0} signs next")]
    OutOfTurn(String),
    /// The deadline passed.
    #[error("the signing deadline passed at {0}")]
    Expired(String),
    /// Not in the state the step needs.
    #[error("the contract is {0}")]
    WrongState(String),
    /// The countersigning certificate is not an official certificate.
    #[error(
        "the notary must sign with an official certificate (organizationIdentifier, title and personal serialNumber): {0}"
    )]
    NotOfficial(String),
    /// Not on the notaries' list.
    #[error("{0} is not a notary")]
    NotANotary(String),
    /// A company's representative has no mandate.
    #[error("{person} has no valid mandate to represent {company}")]
    NoCapacity {
        /// The representative.
        person: String,
        /// The company.
        company: String,
    },
    /// Two steps raced; this one lost.
    #[error("the contract changed meanwhile: download the current version and sign again")]
    Conflict,
    /// Completing to B-LTA failed.
    #[error("completing the signatures to B-LTA: {0}")]
    Extend(String),
    /// The ledger failed.
    #[error("ledger: {0}")]
    Ledger(String),
    /// Storage failed.
    #[error("store: {0}")]
    Store(#[from] tamga_store::StoreError),
}

/// A party as named at creation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Party {
    /// The registration number of the person who signs (the citizen, or the company's
    /// representative).
    pub registration_number: String,
    /// For a company: its state register number (7 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_register: Option<String>,
    /// The party's role, Mongolian (`худалдагч`).
    pub role_mn: String,
    /// The party's role, English (`seller`).
    pub role_en: String,
    /// When the party signed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
}

/// What a new contract needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewContract {
    /// Title.
    pub title: String,
    /// The parties (at least two).
    pub parties: Vec<Party>,
    /// Whether the parties sign in the listed order.
    #[serde(default)]
    pub ordered: bool,
    /// Signing deadline (Unix seconds).
    #[serde(default)]
    pub deadline: Option<i64>,
    /// What the verification service may show: `title`, `parties` (roles only; names never).
    #[serde(default)]
    pub public: Vec<String>,
}

/// The contract's record (stored as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// What was asked at creation.
    #[serde(flatten)]
    pub spec: NewContract,
    /// The notary, once notarised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notary: Option<NotaryInfo>,
    /// Events, oldest first.
    #[serde(default)]
    pub history: Vec<String>,
}

/// Who notarised, and the act.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotaryInfo {
    /// The notary's registration number.
    pub registration_number: String,
    /// The notary's name (certificate CN).
    pub name: String,
    /// The register number.
    pub register_number: String,
    /// The verification code.
    pub verification_code: String,
    /// When (RFC 3339).
    pub notarised_at: String,
    /// Its id in the electronic archive, when archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_id: Option<String>,
}

/// A contract as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct ContractView {
    /// Id.
    pub contract_id: String,
    /// `signing`, `awaiting-notary`, `notarised`, `expired`.
    pub status: String,
    /// The record.
    pub record: Record,
    /// SHA-256 of the current version, hex.
    pub sha256: String,
    /// The current version's length.
    pub size: usize,
}

/// What the verification service answers.
#[derive(Debug, Clone, Serialize)]
pub struct ActView {
    /// Register number.
    pub register_number: String,
    /// When notarised (RFC 3339).
    pub notarised_at: String,
    /// SHA-256 of the notarised document, hex.
    pub sha256: String,
    /// What the parties allowed to be public.
    pub public: serde_json::Value,
    /// The ledger entry.
    pub ledger: serde_json::Value,
    /// The validation report (EN 319 102-1, now).
    pub report: serde_json::Value,
}

/// The e-Notary service.
pub struct Notary {
    store: Store,
    log: Arc<Log>,
    anchors: AnchorSource,
    notaries: Vec<String>,
    extender: Arc<dyn Extender>,
    wallet: Option<Arc<dyn Wallet>>,
    archiver: Option<Arc<dyn Archiver>>,
}

fn now() -> i64 {
    tamga_pki::builder::now()
}

fn rfc3339(t: i64) -> String {
    tamga_pki::time::format_rfc3339(t)
}

fn sha256(d: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, d)
        .as_ref()
        .to_vec()
}

fn random_code() -> Result<String, NotaryError> {
    // Crockford base32 without I, L, O, U: 12 characters, 60 bits, typed from paper.
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut b = [0u8; 12];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| NotaryError::Invalid("no randomness".into()))?;
    Ok(b.iter()
        .map(|x| ALPHABET[(*x as usize) % 32] as char)
        .collect())
}

/// The canonical (certificate) form of a registration number.
fn canonical(reg: &str) -> Result<String, NotaryError> {
    RegistrationNumber::parse(reg)
        .or_else(|_| RegistrationNumber::from_latin(reg))
        .map(|r| r.serial_number_attribute())
        .map_err(|e| NotaryError::Invalid(format!("registration number {reg:?}: {e}")))
}

/// A subject attribute's (first) string value.
fn attribute(cert: &ParsedCert, oid: Oid) -> Option<String> {
    tamga_pki::name::attribute_texts(cert.subject(), oid)
        .into_iter()
        .next()
}

const SERIAL_NUMBER: Oid = Oid::new_unwrap("2.5.4.5");
const ORGANIZATION_IDENTIFIER: Oid = Oid::new_unwrap("2.5.4.97");
const TITLE: Oid = Oid::new_unwrap("2.5.4.12");
const COMMON_NAME: Oid = Oid::new_unwrap("2.5.4.3");

/// The signatures (not document time-stamps) of a report, in signing order, with their
/// signer certificates.
fn signatures(report: &Report) -> Vec<(&tamga_sign::report::SignatureReport, Option<ParsedCert>)> {
    report
        .signatures
        .iter()
        .filter(|s| s.kind == "signature")
        .map(|s| {
            let cert = s.signer.as_ref().and_then(|info| {
                report
                    .validation_objects
                    .iter()
                    .find(|o| o.kind == "certificate" && o.id == info.sha256)
                    .and_then(|o| {
                        use base64::Engine;
                        base64::engine::general_purpose::STANDARD
                            .decode(&o.der_base64)
                            .ok()
                    })
                    .and_then(|d| ParsedCert::from_der(&d).ok())
            });
            (s, cert)
        })
        .collect()
}

impl Notary {
    /// The service over `store`, committing acts to `log`.
    pub fn new(
        store: Store,
        log: Arc<Log>,
        anchors: AnchorSource,
        notaries: &[String],
        extender: Arc<dyn Extender>,
    ) -> Result<Notary, NotaryError> {
        Ok(Notary {
            store,
            log,
            anchors,
            notaries: notaries
                .iter()
                .map(|n| canonical(n))
                .collect::<Result<_, _>>()?,
            extender,
            wallet: None,
            archiver: None,
        })
    }

    /// Delivers notarised contracts to the parties' wallets.
    pub fn set_wallet(&mut self, wallet: Arc<dyn Wallet>) {
        self.wallet = Some(wallet);
    }

    /// Archives notarised contracts.
    pub fn set_archiver(&mut self, archiver: Arc<dyn Archiver>) {
        self.archiver = Some(archiver);
    }

    /// The ledger log.
    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    fn policy(&self, revocation: RevocationRequirement, extra_ocsp: Vec<Vec<u8>>) -> Policy {
        Policy {
            anchors: (self.anchors)(),
            extra_certs: vec![],
            extra_crls: vec![],
            extra_ocsp,
            time: now(),
            algorithms: tamga_pki::AlgorithmPolicy::Strict,
            revocation,
        }
    }

    fn validate(
        &self,
        doc: &[u8],
        revocation: RevocationRequirement,
    ) -> Result<Report, NotaryError> {
        let name = match Form::of(doc) {
            Some(Form::AsicE) => "contract.asice",
            _ => "contract.pdf",
        };
        tamga_sign::http::validate_any(name, doc, None, &self.policy(revocation, vec![]))
            .map_err(|e| NotaryError::InvalidSignature(e.to_string()))
    }

    /// How many signatures (not document time-stamps) a contract carries.
    fn count_signatures(&self, doc: &[u8]) -> Result<usize, NotaryError> {
        match Form::of(doc) {
            Some(Form::Pdf) => match tamga_sign::pades::validate_pdf(
                "contract.pdf",
                doc,
                &self.policy(RevocationRequirement::IfAvailable, vec![]),
            ) {
                Ok(r) => Ok(signatures(&r).len()),
                Err(tamga_sign::validate::ValidateError::NoSignature) => Ok(0),
                Err(e) => Err(NotaryError::Invalid(format!("the PDF cannot be read: {e}"))),
            },
            Some(Form::AsicE) => Ok(asic_entries(doc)?
                .iter()
                .filter(|e| is_signature_file(&e.name))
                .count()),
            None => Err(NotaryError::Invalid(
                "the contract must be a PDF or an ASiC-E container".into(),
            )),
        }
    }

    /// Creates a contract from its unsigned PDF or ASiC-E container.
    pub async fn create(&self, spec: NewContract, pdf: Vec<u8>) -> Result<String, NotaryError> {
        if Form::of(&pdf).is_none() {
            return Err(NotaryError::Invalid(
                "the contract must be a PDF or an ASiC-E container".into(),
            ));
        }
        if spec.title.trim().is_empty() || spec.title.len() > 300 {
            return Err(NotaryError::Invalid(
                "a title is required (at most 300 bytes)".into(),
            ));
        }
        if spec.parties.len() < 2 || spec.parties.len() > 20 {
            return Err(NotaryError::Invalid(
                "a contract has 2 to 20 parties".into(),
            ));
        }
        let mut seen = Vec::new();
        for p in &spec.parties {
            let c = canonical(&p.registration_number)?;
            if seen.contains(&c) {
                return Err(NotaryError::Invalid(format!(
                    "{} is named twice",
                    p.registration_number
                )));
            }
            seen.push(c);
            if let Some(r) = &p.company_register {
                tamga_pki::identity::legal_person_identifier(r).map_err(|e| {
                    NotaryError::Invalid(format!("company register {r:?}: {}", e.0))
                })?;
            }
            if p.signed_at.is_some() {
                return Err(NotaryError::Invalid(
                    "a new contract has no signatures yet".into(),
                ));
            }
        }
        if spec.deadline.is_some_and(|d| d <= now()) {
            return Err(NotaryError::Invalid("the deadline is in the past".into()));
        }
        if let Some(f) = spec
            .public
            .iter()
            .find(|f| *f != "title" && *f != "parties")
        {
            return Err(NotaryError::Invalid(format!(
                "public field {f:?}: only \"title\" and \"parties\" can be made public"
            )));
        }
        if tokio::task::block_in_place(|| self.count_signatures(&pdf))? != 0 {
            return Err(NotaryError::Invalid(
                "upload the contract unsigned: each party's signature is added as a step".into(),
            ));
        }
        let mut id = [0u8; 10];
        aws_lc_rs::rand::fill(&mut id).map_err(|_| NotaryError::Invalid("no randomness".into()))?;
        let contract_id = format!("CT-{}", hex::encode_upper(id));
        let record = Record {
            spec,
            notary: None,
            history: vec![format!("{} created", rfc3339(now()))],
        };
        self.store
            .notary_contract_insert(&ContractRow {
                contract_id: contract_id.clone(),
                status: "signing".into(),
                record: serde_json::to_string(&record)
                    .map_err(|e| NotaryError::Invalid(e.to_string()))?,
                document: pdf,
                version: 1,
                created_at_ms: now() * 1000,
            })
            .await?;
        Ok(contract_id)
    }

    async fn load(&self, id: &str) -> Result<(ContractRow, Record), NotaryError> {
        let row = self
            .store
            .notary_contract_get(id)
            .await?
            .ok_or_else(|| NotaryError::NotFound(id.to_owned()))?;
        let record: Record = serde_json::from_str(&row.record)
            .map_err(|e| NotaryError::Invalid(format!("stored record: {e}")))?;
        Ok((row, record))
    }

    fn status_of(row: &ContractRow, record: &Record) -> String {
        if row.status == "signing" && record.spec.deadline.is_some_and(|d| d < now()) {
            "expired".into()
        } else {
            row.status.clone()
        }
    }

    /// A contract and its current document.
    pub async fn get(&self, id: &str) -> Result<(ContractView, Vec<u8>), NotaryError> {
        let (row, record) = self.load(id).await?;
        Ok((
            ContractView {
                contract_id: row.contract_id.clone(),
                status: Self::status_of(&row, &record),
                sha256: hex::encode(sha256(&row.document)),
                size: row.document.len(),
                record,
            },
            row.document,
        ))
    }

    /// Checks that `signed` is `current` (which carries `before` signatures) plus exactly one
    /// valid signature, and returns the report and the new signer's certificate.
    fn one_more_signature(
        &self,
        current: &[u8],
        before: usize,
        signed: &[u8],
        revocation: RevocationRequirement,
    ) -> Result<(Report, ParsedCert), NotaryError> {
        let new_signature_file = match Form::of(current) {
            Some(Form::AsicE) => Some(one_more_asic_signature(current, signed)?),
            _ => {
                if signed.len() <= current.len() || !signed.starts_with(current) {
                    return Err(NotaryError::DifferentVersion);
                }
                None
            }
        };
        let report = self.validate(signed, revocation)?;
        let sigs = signatures(&report);
        if sigs.len() != before + 1 {
            return Err(NotaryError::NotOneNewSignature(
                sigs.len().saturating_sub(before),
            ));
        }
        let (last, cert) = match &new_signature_file {
            Some(name) => sigs
                .iter()
                .find(|(s, _)| s.field.as_deref() == Some(name.as_str()))
                .ok_or_else(|| {
                    NotaryError::InvalidSignature(format!("{name} was not validated"))
                })?,
            None => &sigs[sigs.len() - 1],
        };
        if last.indication != Indication::TotalPassed {
            return Err(NotaryError::InvalidSignature(format!(
                "{}: {}",
                last.indication.label(),
                last.messages.join("; ")
            )));
        }
        if report.indication != Indication::TotalPassed {
            return Err(NotaryError::InvalidSignature(format!(
                "an earlier signature no longer validates: {}",
                report.summary.en
            )));
        }
        let cert = cert.clone().ok_or_else(|| {
            NotaryError::InvalidSignature("the signer's certificate is missing".into())
        })?;
        Ok((report, cert))
    }

    /// A party's signature: `signed` must be the current version plus that party's one valid
    /// signature. Returns the new status.
    pub async fn sign(&self, id: &str, signed: Vec<u8>) -> Result<String, NotaryError> {
        let (row, mut record) = self.load(id).await?;
        match Self::status_of(&row, &record).as_str() {
            "signing" => {}
            "expired" => {
                return Err(NotaryError::Expired(rfc3339(
                    record.spec.deadline.unwrap_or(0),
                )));
            }
            other => return Err(NotaryError::WrongState(other.to_owned())),
        }
        // A contract starts unsigned and each accepted step adds one signature: the current
        // version carries one per party who signed.
        let before = record
            .spec
            .parties
            .iter()
            .filter(|p| p.signed_at.is_some())
            .count();
        let (_, cert) = tokio::task::block_in_place(|| {
            self.one_more_signature(
                &row.document,
                before,
                &signed,
                RevocationRequirement::IfAvailable,
            )
        })?;
        let signer = attribute(&cert, SERIAL_NUMBER).unwrap_or_default();
        let Some(index) = record
            .spec
            .parties
            .iter()
            .position(|p| canonical(&p.registration_number).is_ok_and(|c| c == signer))
        else {
            return Err(NotaryError::NotAParty(if signer.is_empty() {
                cert.subject_string()
            } else {
                signer
            }));
        };
        if record.spec.parties[index].signed_at.is_some() {
            return Err(NotaryError::AlreadySigned(signer));
        }
        if record.spec.ordered
            && let Some(next) = record.spec.parties.iter().find(|p| p.signed_at.is_none())
            && canonical(&next.registration_number)? != signer
        {
            return Err(NotaryError::OutOfTurn(next.registration_number.clone()));
        }
        let t = rfc3339(now());
        record.spec.parties[index].signed_at = Some(t.clone());
        record.history.push(format!(
            "{t} signed by the {} ({})",
            record.spec.parties[index].role_en, record.spec.parties[index].registration_number
        ));
        let status = if record.spec.parties.iter().all(|p| p.signed_at.is_some()) {
            "awaiting-notary"
        } else {
            "signing"
        };
        let json =
            serde_json::to_string(&record).map_err(|e| NotaryError::Invalid(e.to_string()))?;
        if !self
            .store
            .notary_contract_update(id, row.version, status, &json, &signed)
            .await?
        {
            return Err(NotaryError::Conflict);
        }
        Ok(status.to_owned())
    }

    /// Whether `person` may act for `company` (a valid legal-representative mandate).
    async fn represents(&self, person: &str, company: &str) -> Result<bool, NotaryError> {
        let person_cyr = RegistrationNumber::parse(person)
            .or_else(|_| RegistrationNumber::from_latin(person))
            .map(|r| r.cyrillic())
            .map_err(|e| NotaryError::Invalid(e.to_string()))?;
        let t = now() * 1000;
        Ok(self
            .store
            .id_mandates_of(&person_cyr)
            .await?
            .iter()
            .any(|m| {
                m.subject_kind == "organization"
                    && m.subject_id == company
                    && m.basis == "legal-representative"
                    && m.valid_until_ms.is_none_or(|u| u > t)
            }))
    }

    /// The notary's countersignature: `signed` must be the fully signed version plus the
    /// notary's one signature with an official certificate. The act is completed to B-LTA,
    /// numbered, committed to the ledger and delivered. Returns (register number, code).
    pub async fn notarise(
        &self,
        id: &str,
        signed: Vec<u8>,
    ) -> Result<(String, String), NotaryError> {
        let (row, mut record) = self.load(id).await?;
        let status = Self::status_of(&row, &record);
        if status != "awaiting-notary" {
            return Err(NotaryError::WrongState(status));
        }
        let before = record.spec.parties.len();
        let (_, cert) = tokio::task::block_in_place(|| {
            self.one_more_signature(
                &row.document,
                before,
                &signed,
                RevocationRequirement::IfAvailable,
            )
        })?;
        let serial = attribute(&cert, SERIAL_NUMBER);
        let official = serial.as_deref().is_some_and(|s| s.starts_with("PNOMN-"))
            && attribute(&cert, ORGANIZATION_IDENTIFIER).is_some_and(|o| o.starts_with("NTRMN-"))
            && attribute(&cert, TITLE).is_some();
        if !official {
            return Err(NotaryError::NotOfficial(cert.subject_string()));
        }
        let notary = serial.unwrap_or_default();
        if !self.notaries.contains(&notary) {
            return Err(NotaryError::NotANotary(notary));
        }
        for p in &record.spec.parties {
            if let Some(company) = &p.company_register
                && !self.represents(&p.registration_number, company).await?
            {
                return Err(NotaryError::NoCapacity {
                    person: p.registration_number.clone(),
                    company: company.clone(),
                });
            }
        }
        // B-LTA, then the verdict a court would reach: revocation status required.
        let final_pdf = tokio::task::block_in_place(|| self.extender.extend_lta(&signed))
            .map_err(NotaryError::Extend)?;
        let report = tokio::task::block_in_place(|| {
            self.validate(&final_pdf, RevocationRequirement::Require)
        })?;
        if report.indication != Indication::TotalPassed {
            return Err(NotaryError::InvalidSignature(format!(
                "after completion to B-LTA: {}",
                report.summary.en
            )));
        }
        let t = now();
        let digest = sha256(&final_pdf);
        let salt = tamga_ledger::commitment::fresh_salt()
            .map_err(|_| NotaryError::Invalid("no randomness".into()))?;
        let code = random_code()?;
        let index = self
            .log
            .append(tamga_ledger::commitment::salted(&salt, &digest).to_vec())
            .await
            .map_err(|e| NotaryError::Ledger(e.to_string()))?;
        let mut public = serde_json::Map::new();
        if record.spec.public.iter().any(|f| f == "title") {
            public.insert("title".into(), record.spec.title.clone().into());
        }
        if record.spec.public.iter().any(|f| f == "parties") {
            public.insert(
                "parties".into(),
                record
                    .spec
                    .parties
                    .iter()
                    .map(|p| serde_json::json!({ "role_mn": p.role_mn, "role_en": p.role_en, "company": p.company_register.is_some() }))
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        let name = attribute(&cert, COMMON_NAME).unwrap_or_default();
        let year: i64 = rfc3339(t)[..4].parse().unwrap_or(0);
        let act = RegisterRow {
            register_number: String::new(),
            year,
            seq: 0,
            contract_id: id.to_owned(),
            sha256: digest,
            verification_code: code.clone(),
            ledger_log: self.log.name().to_owned(),
            ledger_index: index as i64,
            salt: salt.to_vec(),
            notarised_at_ms: t * 1000,
            public_record: serde_json::Value::Object(public).to_string(),
        };
        record
            .history
            .push(format!("{} notarised by {name}", rfc3339(t)));
        let info = NotaryInfo {
            registration_number: notary,
            name,
            register_number: String::new(),
            verification_code: code.clone(),
            notarised_at: rfc3339(t),
            archive_id: None,
        };
        // The number is allocated inside the transaction that stores the record naming it.
        let with_number = |number: &str| {
            let mut r = record.clone();
            r.notary = Some(NotaryInfo {
                register_number: number.to_owned(),
                ..info.clone()
            });
            serde_json::to_string(&r).unwrap_or_default()
        };
        let number = self
            .store
            .notary_register_act(id, row.version, &with_number, &final_pdf, &act)
            .await?
            .ok_or(NotaryError::Conflict)?;
        record.notary = Some(NotaryInfo {
            register_number: number.clone(),
            ..info
        });
        // Archived for the long term; a failure leaves the act valid and is logged (the
        // archivist can ingest it later from the register).
        if let Some(a) = &self.archiver {
            match a.archive(&record.spec.title, &number, &final_pdf).await {
                Ok(archive_id) => {
                    if let Some(n) = record.notary.as_mut() {
                        n.archive_id = Some(archive_id);
                    }
                    let json = serde_json::to_string(&record)
                        .map_err(|e| NotaryError::Invalid(e.to_string()))?;
                    // The act was stored at `row.version + 1`; nothing else changes a
                    // notarised contract.
                    if !self
                        .store
                        .notary_contract_set_record(id, row.version + 1, &json)
                        .await?
                    {
                        tracing::warn!(act = %number, "the archive id of a notarised contract was not recorded: the contract changed meanwhile");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, act = %number, "notarised contract not archived");
                }
            }
        }
        if let Some(w) = &self.wallet {
            for p in &record.spec.parties {
                if let Err(e) = w
                    .deliver(
                        &p.registration_number,
                        &record.spec.title,
                        &final_pdf,
                        &number,
                    )
                    .await
                {
                    tracing::warn!(error = %e, contract = id, "notarised contract not delivered to a wallet");
                }
            }
        }
        Ok((number, code))
    }

    /// The act a register number, a verification code or a document names.
    pub async fn find(&self, key: Lookup<'_>) -> Result<(RegisterRow, Vec<u8>), NotaryError> {
        let act = match key {
            Lookup::Number(n) => self.store.notary_act_by_number(n).await?,
            Lookup::Code(c) => {
                self.store
                    .notary_act_by_code(&c.trim().to_ascii_uppercase())
                    .await?
            }
            Lookup::Document(d) => self.store.notary_act_by_sha256(&sha256(d)).await?,
        }
        .ok_or_else(|| NotaryError::NotFound("no notarial act matches".into()))?;
        let (row, _) = self.load(&act.contract_id).await?;
        Ok((act, row.document))
    }

    /// What the verification service shows for an act: public data, ledger entry (with the
    /// receipt once a checkpoint covers it) and a fresh validation report.
    pub async fn verify(&self, key: Lookup<'_>) -> Result<(ActView, Vec<u8>, Report), NotaryError> {
        let (act, pdf) = self.find(key).await?;
        let report =
            tokio::task::block_in_place(|| self.validate(&pdf, RevocationRequirement::Require))?;
        let receipt = self
            .log
            .receipt_if_covered(act.ledger_index as u64)
            .await
            .map_err(|e| NotaryError::Ledger(e.to_string()))?
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| NotaryError::Invalid(e.to_string()))?;
        let view = ActView {
            register_number: act.register_number.clone(),
            notarised_at: rfc3339(act.notarised_at_ms / 1000),
            sha256: hex::encode(&act.sha256),
            public: serde_json::from_str(&act.public_record).unwrap_or_default(),
            ledger: serde_json::json!({
                "log": act.ledger_log,
                "index": act.ledger_index,
                "salt": hex::encode(&act.salt),
                "commitment": hex::encode(tamga_ledger::commitment::salted(&act.salt, &act.sha256)),
                "log_vkey": self.log.verifier().vkey(),
                "receipt": receipt,
            }),
            report: serde_json::to_value(&report).unwrap_or_default(),
        };
        Ok((view, pdf, report))
    }

    /// An evidence bundle for a bank or a court: the notarised PDF, every validation object,
    /// the report, and the notarial act with its ledger receipt; `tamga verify --offline`
    /// reproduces the verdict.
    pub async fn bundle(&self, key: Lookup<'_>) -> Result<Vec<u8>, NotaryError> {
        let (view, pdf, report) = self.verify(key).await?;
        let policy = self.policy(RevocationRequirement::Require, vec![]);
        let act = tamga_sign::zip::Entry {
            name: "notary/act.json".into(),
            data: serde_json::to_vec_pretty(&serde_json::json!({
                "register_number": view.register_number,
                "notarised_at": view.notarised_at,
                "sha256": view.sha256,
                "public": view.public,
                "ledger": view.ledger,
            }))
            .map_err(|e| NotaryError::Invalid(e.to_string()))?,
        };
        let name = act_file_name(&view.register_number, &pdf);
        tamga_sign::bundle::write(&name, &pdf, None, &policy, &report, vec![act])
            .map_err(|e| NotaryError::Invalid(e.to_string()))
    }
}

/// A printable PDF/A copy of a notarised act: register number, verification code, date,
/// document hash, public facts and a QR code to `verify_url` — the paper leads back to the
/// verifiable original.
pub fn paper_copy(act: &RegisterRow, verify_url: &str) -> Result<Vec<u8>, String> {
    use tamga_pdfa::Block;
    let public: serde_json::Value = serde_json::from_str(&act.public_record).unwrap_or_default();
    let title = public["title"]
        .as_str()
        .unwrap_or("Нотариатын үйлдэл / Notarial act")
        .to_owned();
    let mut blocks = vec![
        Block::Title(format!("Цаасан хуулбар / Paper copy — {title}")),
        Block::Text(
            "Энэ хуудас нь нотариатаар гэрчилсэн цахим баримтын хуулбар юм. QR кодыг уншуулж эсвэл \
             баталгаажуулах кодыг оруулж эх баримтыг шалгана уу. / This is a copy of an \
             electronically notarised document. Scan the QR code or enter the verification code \
             to check the original."
                .into(),
        ),
        Block::Rule,
        Block::Field("Бүртгэлийн дугаар / Register number".into(), act.register_number.clone()),
        Block::Field("Баталгаажуулах код / Verification code".into(), act.verification_code.clone()),
        Block::Field(
            "Гэрчилсэн / Notarised".into(),
            rfc3339(act.notarised_at_ms / 1000),
        ),
        Block::Field("SHA-256".into(), hex::encode(&act.sha256)),
        Block::Field(
            "Бүртгэлийн дэвтэр / Ledger".into(),
            format!("{} #{}", act.ledger_log, act.ledger_index),
        ),
    ];
    if let Some(parties) = public["parties"].as_array() {
        let roles: Vec<String> = parties
            .iter()
            .map(|p| {
                format!(
                    "{} / {}",
                    p["role_mn"].as_str().unwrap_or(""),
                    p["role_en"].as_str().unwrap_or("")
                )
            })
            .collect();
        blocks.push(Block::Field("Талууд / Parties".into(), roles.join(", ")));
    }
    blocks.push(Block::Field(
        "Шалгах / Verify".into(),
        verify_url.to_owned(),
    ));
    tamga_pdfa::render(&tamga_pdfa::DocumentSpec {
        title: format!("Цаасан хуулбар / Paper copy — {title}"),
        author: "Нотариат / Notary".into(),
        lang: "mn".into(),
        created_unix: now(),
        blocks,
        qr: Some((verify_url.to_owned(), act.verification_code.clone())),
        footer: Some(format!(
            "{} · {}",
            act.register_number, act.verification_code
        )),
    })
    .map_err(|e| e.to_string())
}

/// The file name and media type of a notarised act's document.
pub fn act_file_name(register_number: &str, doc: &[u8]) -> String {
    let ext = if Form::of(doc) == Some(Form::AsicE) {
        "asice"
    } else {
        "pdf"
    };
    format!("notarised-{}.{ext}", register_number.replace('/', "-"))
}

/// The media type of a contract document.
pub fn media_type(doc: &[u8]) -> &'static str {
    if Form::of(doc) == Some(Form::AsicE) {
        tamga_sign::asic::MIME_ASIC_E
    } else {
        "application/pdf"
    }
}

/// The two forms a contract takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// One PDF: parties add PAdES signatures as incremental updates.
    Pdf,
    /// Several files in an ASiC-E container: parties add parallel CAdES signatures, each over
    /// its own manifest of every file (ETSI EN 319 162-1 §4.4).
    AsicE,
}

impl Form {
    fn of(doc: &[u8]) -> Option<Form> {
        if doc.starts_with(b"%PDF-") {
            Some(Form::Pdf)
        } else if doc.starts_with(b"PK\x03\x04")
            && tamga_sign::zip::read(doc, tamga_sign::zip::Limits::default())
                .ok()
                .and_then(|e| e.into_iter().next())
                .is_some_and(|m| {
                    m.name == "mimetype" && m.data == tamga_sign::asic::MIME_ASIC_E.as_bytes()
                })
        {
            Some(Form::AsicE)
        } else {
            None
        }
    }
}

fn asic_entries(doc: &[u8]) -> Result<Vec<tamga_sign::zip::Entry>, NotaryError> {
    tamga_sign::zip::read(doc, tamga_sign::zip::Limits::default())
        .map_err(|e| NotaryError::Invalid(format!("the container cannot be read: {e}")))
}

fn is_signature_file(name: &str) -> bool {
    name.starts_with("META-INF/signature") && name.ends_with(".p7s")
}

/// An unsigned ASiC-E container of `files` (what the office uploads as several files).
pub fn unsigned_container(files: Vec<tamga_sign::zip::Entry>) -> Result<Vec<u8>, NotaryError> {
    if files.is_empty() {
        return Err(NotaryError::Invalid("no files".into()));
    }
    for (i, f) in files.iter().enumerate() {
        tamga_sign::asic::check_data_name(&f.name)
            .map_err(|e| NotaryError::Invalid(e.to_string()))?;
        if files[..i].iter().any(|g| g.name == f.name) {
            return Err(NotaryError::Invalid(format!("{} is given twice", f.name)));
        }
    }
    let mut entries = vec![tamga_sign::zip::Entry {
        name: "mimetype".into(),
        data: tamga_sign::asic::MIME_ASIC_E.as_bytes().to_vec(),
    }];
    entries.extend(files);
    tamga_sign::zip::write(&entries).map_err(|e| NotaryError::Invalid(e.to_string()))
}

/// ASiC-E version binding: every entry of `current` is in `signed` unchanged, and `signed` adds
/// exactly one manifest and its signature, the manifest naming every data file. Returns the
/// new signature's file name.
fn one_more_asic_signature(current: &[u8], signed: &[u8]) -> Result<String, NotaryError> {
    if Form::of(signed) != Some(Form::AsicE) {
        return Err(NotaryError::DifferentVersion);
    }
    let before = asic_entries(current)?;
    let after = asic_entries(signed)?;
    for e in &before {
        if !after.iter().any(|a| a.name == e.name && a.data == e.data) {
            return Err(NotaryError::DifferentVersion);
        }
    }
    let added: Vec<&tamga_sign::zip::Entry> = after
        .iter()
        .filter(|a| !before.iter().any(|b| b.name == a.name))
        .collect();
    let sig = added.iter().find(|a| is_signature_file(&a.name));
    let manifest = added
        .iter()
        .find(|a| a.name.starts_with("META-INF/ASiCManifest") && a.name.ends_with(".xml"));
    let (Some(sig), Some(manifest), 2) = (sig, manifest, added.len()) else {
        // Anything else added (a changed or extra data file, two signatures) is another
        // version, not one more signature.
        return Err(if added.iter().any(|a| !a.name.starts_with("META-INF/")) {
            NotaryError::DifferentVersion
        } else {
            NotaryError::NotOneNewSignature(
                added.iter().filter(|a| is_signature_file(&a.name)).count(),
            )
        });
    };
    let text = String::from_utf8_lossy(&manifest.data);
    for data in before
        .iter()
        .filter(|e| e.name != "mimetype" && !e.name.starts_with("META-INF/"))
    {
        if !text.contains(&format!("URI=\"{}\"", data.name)) {
            return Err(NotaryError::InvalidSignature(format!(
                "the new signature does not cover {}: every party signs every file",
                data.name
            )));
        }
    }
    Ok(sig.name.clone())
}

/// How an act is looked up.
pub enum Lookup<'a> {
    /// By register number (`2026/000001`).
    Number(&'a str),
    /// By verification code.
    Code(&'a str),
    /// By the notarised document itself.
    Document(&'a [u8]),
}
