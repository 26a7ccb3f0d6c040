//! The trust-services role: certificate authorities that issue, suspend, reinstate and revoke
//! certificates, and publish their status through an OCSP responder (RFC 6960) and CRLs
//! (RFC 5280 §5), plus the signed trusted list of accredited services (modelled on ETSI TS
//! 119 612; see [`trusted_list`]).
//!
//! Every issuance and status change is stored with who did it and why. CA keys live in the
//! node's key store (software or PKCS#11); each CA has a delegated OCSP responder key and
//! certificate. Responses without a nonce are cached and reused until a status changes or ten
//! minutes pass; a revocation clears the CA's cache at once, so the responder answers
//! "revoked" from the next request on.

pub mod http;
pub mod trusted_list;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use const_oid::ObjectIdentifier;
use der::Encode;
use tamga_keys::{KeyAlgorithm, KeyError, KeyStore, Signer};
use tamga_pki::builder::{BuildError, key_identifier, now};
use tamga_pki::cert::ParsedCert;
use tamga_pki::crl_issue::{RevokedEntry, build_crl};
use tamga_pki::csr::CsrError;
use tamga_pki::issue::{CertificateRequest, Issuer, NameBuilder, Profile, issue, self_signed_root};
use tamga_pki::ocsp::{ParsedRequest, Responder, SerialStatus, parse_request, status_only};
use tamga_store::{CaRecord, CertRecord, Store, StoreError, TrustedListEntry};
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::pkix::name::GeneralName;
use x509_ocsp::OcspResponseStatus;

/// A trust-services operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// No CA by that name.
    #[error("no certificate authority named {0:?}")]
    UnknownCa(String),
    /// A CA by that name exists.
    #[error("a certificate authority named {0:?} exists already")]
    CaExists(String),
    /// A CA name outside `[a-z0-9-]{1,64}`.
    #[error("invalid CA name {0:?}: use 1-64 characters a-z 0-9 -")]
    InvalidName(String),
    /// No such certificate.
    #[error("CA {ca:?} issued no certificate with serial {serial}")]
    UnknownCertificate {
        /// The CA.
        ca: String,
        /// The serial (hex).
        serial: String,
    },
    /// The certificate is not in a state the change applies to.
    #[error("certificate {serial} cannot be {action}: it is not {expected}")]
    WrongState {
        /// The serial (hex).
        serial: String,
        /// What was asked.
        action: &'static str,
        /// The states it could have been in.
        expected: &'static str,
    },
    /// A bad request (subject, profile, validity).
    #[error("{0}")]
    BadRequest(String),
    /// The PKCS#10 request was refused.
    #[error(transparent)]
    Csr(#[from] CsrError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Keys.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Certificate or CRL building.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A stored certificate no longer parses.
    #[error("stored certificate is corrupt: {0}")]
    Corrupt(String),
}

/// What a new CA looks like.
#[derive(Debug, Clone)]
pub struct CaSpec {
    /// URL-safe name (`mn-citizen-ca`).
    pub name: String,
    /// The CA certificate's common name.
    pub display_name: String,
    /// Organisation name in the CA's subject.
    pub organisation: String,
    /// The parent CA; `None` creates a self-signed root.
    pub parent: Option<String>,
    /// Key algorithm.
    pub key_algorithm: KeyAlgorithm,
    /// The CA's certificate policy OID.
    pub policy: ObjectIdentifier,
    /// Validity in years.
    pub validity_years: i64,
}

/// A certificate to issue.
#[derive(Debug, Clone)]
pub struct IssueSpec {
    /// Profile.
    pub profile: Profile,
    /// Subject.
    pub subject: x509_cert::name::Name,
    /// DER SubjectPublicKeyInfo (from a verified CSR or a key generated on a token).
    pub spki_der: Vec<u8>,
    /// subjectAltName entries.
    pub alt_names: Vec<GeneralName>,
    /// Validity in days.
    pub validity_days: i64,
}

struct CaRuntime {
    record: CaRecord,
    cert: ParsedCert,
    signer: Arc<dyn Signer>,
    ocsp_cert: ParsedCert,
    ocsp_signer: Arc<dyn Signer>,
}

/// The profile's name in records and the admin API.
pub fn profile_name(p: &Profile) -> &'static str {
    match p {
        Profile::RootCa { .. } => "root-ca",
        Profile::IssuingCa { .. } => "issuing-ca",
        Profile::CitizenAuth => "citizen-auth",
        Profile::CitizenSign => "citizen-sign",
        Profile::LegalPersonSeal => "legal-person-seal",
        Profile::Official => "official",
        Profile::TlsServer => "tls-server",
        Profile::TlsClient => "tls-client",
        Profile::OcspSigner => "ocsp-signer",
        Profile::Tsa => "tsa",
    }
}

/// Parses a profile name (end-entity profiles only).
pub fn parse_profile(name: &str) -> Result<Profile, TrustError> {
    Ok(match name {
        "citizen-auth" => Profile::CitizenAuth,
        "citizen-sign" => Profile::CitizenSign,
        "legal-person-seal" => Profile::LegalPersonSeal,
        "official" => Profile::Official,
        "tls-server" => Profile::TlsServer,
        "tls-client" => Profile::TlsClient,
        "tsa" => Profile::Tsa,
        other => {
            return Err(TrustError::BadRequest(format!(
                "unknown profile {other:?} (citizen-auth, citizen-sign, legal-person-seal, official, tls-server, tls-client, tsa)"
            )));
        }
    })
}

/// RFC 5280 §5.3.1 reason codes and their names; `true` where an operator may give it when
/// revoking (certificateHold is set by suspension, the rest belong to delta CRLs and AAs).
const REASONS: [(CrlReason, &str, bool); 10] = [
    (CrlReason::Unspecified, "unspecified", true),
    (CrlReason::KeyCompromise, "keyCompromise", true),
    (CrlReason::CaCompromise, "cACompromise", true),
    (CrlReason::AffiliationChanged, "affiliationChanged", true),
    (CrlReason::Superseded, "superseded", true),
    (
        CrlReason::CessationOfOperation,
        "cessationOfOperation",
        true,
    ),
    (CrlReason::PrivilegeWithdrawn, "privilegeWithdrawn", true),
    (CrlReason::CertificateHold, "certificateHold", false),
    (CrlReason::RemoveFromCRL, "removeFromCRL", false),
    (CrlReason::AaCompromise, "aACompromise", false),
];

/// Parses a revocation reason an operator may give.
pub fn parse_reason(name: &str) -> Result<CrlReason, TrustError> {
    REASONS
        .iter()
        .find(|(_, n, requestable)| *requestable && *n == name)
        .map(|(r, _, _)| *r)
        .ok_or_else(|| {
            let names: Vec<&str> = REASONS.iter().filter(|r| r.2).map(|r| r.1).collect();
            TrustError::BadRequest(format!(
                "unknown revocation reason {name:?} ({})",
                names.join(", ")
            ))
        })
}

fn reason_name(r: CrlReason) -> &'static str {
    REASONS
        .iter()
        .find(|(x, _, _)| *x == r)
        .map_or("unspecified", |(_, n, _)| n)
}

fn reason_from_name(name: &str) -> Option<CrlReason> {
    REASONS
        .iter()
        .find(|(_, n, _)| *n == name)
        .map(|(r, _, _)| *r)
}

const CRL_VALIDITY: i64 = 24 * 3600;
const OCSP_VALIDITY: i64 = 3600;
const OCSP_CACHE_SECS: i64 = 600;

/// The node's RFC 3161 time-stamp authority.
struct TsaRuntime {
    name: String,
    cert: ParsedCert,
    chain: Vec<ParsedCert>,
    signer: Arc<dyn Signer>,
    policy: ObjectIdentifier,
}

const TSA_SETTING: &str = "trust.tsa";

struct CachedCrl {
    der: Vec<u8>,
    next_update: i64,
}

/// (CA name, DER of the request's CertIDs) → (response, produced at).
type OcspCacheKey = (String, Vec<u8>);

/// The trust services of one node.
pub struct TrustServices {
    store: Store,
    keys: Arc<dyn KeyStore>,
    base_url: String,
    list_signer: Arc<dyn Signer>,
    cas: RwLock<BTreeMap<String, Arc<CaRuntime>>>,
    crls: Mutex<HashMap<String, CachedCrl>>,
    ocsp_cache: Mutex<HashMap<OcspCacheKey, (Vec<u8>, i64)>>,
    tsa: RwLock<Option<Arc<TsaRuntime>>>,
}

fn check_name(name: &str) -> Result<(), TrustError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(TrustError::InvalidName(name.into()))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TrustServices {
    /// Loads the CAs stored in `store`, opening their keys in `keys`. `base_url` is where this
    /// node is reachable (CRL, OCSP and caIssuers URLs are built from it); `list_signer` signs
    /// the trusted list.
    pub async fn open(
        store: Store,
        keys: Arc<dyn KeyStore>,
        list_signer: Arc<dyn Signer>,
        base_url: &str,
    ) -> Result<Self, TrustError> {
        let services = Self {
            store,
            keys,
            base_url: base_url.trim_end_matches('/').to_owned(),
            list_signer,
            cas: RwLock::new(BTreeMap::new()),
            crls: Mutex::new(HashMap::new()),
            ocsp_cache: Mutex::new(HashMap::new()),
            tsa: RwLock::new(None),
        };
        for record in services.store.list_cas().await? {
            let runtime = services.load(record)?;
            services
                .cas
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(runtime.record.name.clone(), Arc::new(runtime));
        }
        if let Some(setting) = services.store.setting(TSA_SETTING).await? {
            services.load_tsa(&setting).await?;
        }
        Ok(services)
    }

    fn load(&self, record: CaRecord) -> Result<CaRuntime, TrustError> {
        let corrupt = |e: tamga_pki::CertError| TrustError::Corrupt(e.to_string());
        let cert = ParsedCert::from_der(&record.cert_der).map_err(corrupt)?;
        let ocsp_cert = ParsedCert::from_der(record.ocsp_cert_der.as_deref().unwrap_or_default())
            .map_err(corrupt)?;
        let signer = self.keys.open(&record.key_label)?;
        let ocsp_signer = self
            .keys
            .open(record.ocsp_key_label.as_deref().unwrap_or_default())?;
        Ok(CaRuntime {
            record,
            cert,
            signer,
            ocsp_cert,
            ocsp_signer,
        })
    }

    fn ca(&self, name: &str) -> Result<Arc<CaRuntime>, TrustError> {
        self.cas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| TrustError::UnknownCa(name.into()))
    }

    /// Names of every CA, roots first.
    pub fn ca_names(&self) -> Vec<String> {
        let cas = self.cas.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<(bool, String)> = cas
            .values()
            .map(|c| (c.record.parent.is_some(), c.record.name.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, n)| n).collect()
    }

    /// Whether a CA exists.
    pub fn has_ca(&self, name: &str) -> bool {
        self.ca(name).is_ok()
    }

    /// (name, display name, parent) of every CA.
    pub fn ca_summaries(&self) -> Vec<(String, String, Option<String>)> {
        self.ca_names()
            .into_iter()
            .filter_map(|n| self.ca(&n).ok())
            .map(|c| {
                (
                    c.record.name.clone(),
                    c.record.display_name.clone(),
                    c.record.parent.clone(),
                )
            })
            .collect()
    }

    /// The root CAs' certificates (DER): the trust anchors of everything this node issued.
    pub fn root_certificates(&self) -> Vec<Vec<u8>> {
        self.ca_summaries()
            .into_iter()
            .filter(|(_, _, parent)| parent.is_none())
            .filter_map(|(name, _, _)| self.ca_certificate(&name).ok())
            .collect()
    }

    /// A CA's certificate (DER).
    pub fn ca_certificate(&self, name: &str) -> Result<Vec<u8>, TrustError> {
        Ok(self.ca(name)?.cert.der.clone())
    }

    /// The URLs a CA's certificates point to.
    pub fn urls(&self, name: &str) -> (String, String, String) {
        let b = &self.base_url;
        (
            format!("{b}/pki/{name}/crl"),
            format!("{b}/pki/{name}/ocsp"),
            format!("{b}/pki/{name}/ca.crt"),
        )
    }

    fn issuer<'a>(&self, ca: &'a CaRuntime) -> Result<Issuer<'a>, TrustError> {
        let policy = ca
            .record
            .policy_oid
            .parse()
            .map_err(|_| TrustError::Corrupt(format!("policy OID {}", ca.record.policy_oid)))?;
        self.issuer_for(&ca.record.name, &ca.cert, ca.signer.as_ref(), policy)
    }

    /// The issuing side of CA `name` with certificate `cert` and key `signer`.
    fn issuer_for<'a>(
        &self,
        name: &str,
        cert: &ParsedCert,
        signer: &'a dyn Signer,
        policy: ObjectIdentifier,
    ) -> Result<Issuer<'a>, TrustError> {
        let (crl, ocsp, ca_issuers) = self.urls(name);
        Ok(Issuer {
            name: cert.subject().clone(),
            key_id: key_identifier(signer.public_key_der())?,
            signer,
            policy,
            crl_url: Some(crl),
            ocsp_url: Some(ocsp),
            ca_issuers_url: Some(ca_issuers),
        })
    }

    /// Creates a CA (root or subordinate), its key, its OCSP responder, and lists it on the
    /// trusted list as granted.
    pub async fn create_ca(&self, spec: &CaSpec, actor: &str) -> Result<(), TrustError> {
        check_name(&spec.name)?;
        if self.has_ca(&spec.name) {
            return Err(TrustError::CaExists(spec.name.clone()));
        }
        let t = now();
        let years = spec.validity_years.clamp(1, 30) * 365 * 86400;
        let key = self
            .keys
            .open_or_generate(&format!("ca-{}", spec.name), spec.key_algorithm)?;
        let subject = NameBuilder::new()
            .country("MN")?
            .organization(&spec.organisation)?
            .common_name(&spec.display_name)?
            .build();
        let cert_der = match &spec.parent {
            None => self_signed_root(key.as_ref(), subject, t - 60, t + years, Some(1))?,
            Some(parent) => {
                let p = self.ca(parent)?;
                let issuer = self.issuer(&p)?;
                let der = issue(
                    &issuer,
                    &CertificateRequest {
                        subject,
                        spki_der: key.public_key_der().to_vec(),
                        profile: Profile::IssuingCa { path_len: Some(0) },
                        not_before: t - 60,
                        not_after: (t + years).min(p.cert.not_after),
                        alt_names: vec![],
                        extra_extensions: vec![],
                    },
                )?;
                self.record_issued(
                    parent,
                    &der.0,
                    &der.1,
                    "issuing-ca",
                    actor,
                    "subordinate CA created",
                )
                .await?;
                der.0
            }
        };
        let cert =
            ParsedCert::from_der(&cert_der).map_err(|e| TrustError::Corrupt(e.to_string()))?;
        // The delegated OCSP responder: its own key, a short-lived certificate from this CA.
        let ocsp_key = self
            .keys
            .open_or_generate(&format!("ocsp-{}", spec.name), KeyAlgorithm::EcP256)?;
        let record = CaRecord {
            name: spec.name.clone(),
            display_name: spec.display_name.clone(),
            parent: spec.parent.clone(),
            cert_der,
            key_label: key.label().to_owned(),
            policy_oid: spec.policy.to_string(),
            ocsp_cert_der: None,
            ocsp_key_label: Some(ocsp_key.label().to_owned()),
        };
        let issuer = self.issuer_for(&spec.name, &cert, key.as_ref(), spec.policy)?;
        let (ocsp_der, ocsp_serial) = issue(
            &issuer,
            &CertificateRequest {
                subject: NameBuilder::new()
                    .country("MN")?
                    .organization(&spec.organisation)?
                    .common_name(&format!("{} OCSP", spec.display_name))?
                    .build(),
                spki_der: ocsp_key.public_key_der().to_vec(),
                profile: Profile::OcspSigner,
                not_before: t - 60,
                not_after: (t + 365 * 86400).min(cert.not_after),
                alt_names: vec![],
                extra_extensions: vec![],
            },
        )?;
        let record = CaRecord {
            ocsp_cert_der: Some(ocsp_der.clone()),
            ..record
        };
        self.store.insert_ca(&record).await?;
        self.record_issued(
            &spec.name,
            &ocsp_der,
            &ocsp_serial,
            "ocsp-signer",
            actor,
            "OCSP responder",
        )
        .await?;
        self.store
            .add_trusted_list_entry(&TrustedListEntry {
                service: spec.name.clone(),
                kind: "ca".into(),
                status: "granted".into(),
                from_ms: t * 1000,
                actor: actor.into(),
                note: format!("{} created", spec.display_name),
            })
            .await?;
        let runtime = self.load(record)?;
        self.cas
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(spec.name.clone(), Arc::new(runtime));
        tracing::info!(ca = %spec.name, "certificate authority created");
        Ok(())
    }

    async fn record_issued(
        &self,
        ca: &str,
        der: &[u8],
        serial: &[u8],
        profile: &str,
        actor: &str,
        why: &str,
    ) -> Result<(), TrustError> {
        let parsed = ParsedCert::from_der(der).map_err(|e| TrustError::Corrupt(e.to_string()))?;
        self.store
            .insert_certificate(
                &CertRecord {
                    ca: ca.into(),
                    serial_hex: hex::encode(serial),
                    cert_der: der.to_vec(),
                    profile: profile.into(),
                    status: "good".into(),
                    revoked_at_ms: None,
                    reason: None,
                    issued_at_ms: now() * 1000,
                    not_after_ms: parsed.not_after.saturating_mul(1000),
                },
                actor,
                why,
            )
            .await?;
        Ok(())
    }

    /// Issues a certificate; returns its DER and serial (hex).
    pub async fn issue(
        &self,
        ca: &str,
        spec: IssueSpec,
        actor: &str,
        why: &str,
    ) -> Result<(Vec<u8>, String), TrustError> {
        if spec.profile.is_ca() || spec.profile == Profile::OcspSigner {
            return Err(TrustError::BadRequest(
                "CA and OCSP certificates are made with the CA, not issued on request".into(),
            ));
        }
        if !(1..=3650).contains(&spec.validity_days) {
            return Err(TrustError::BadRequest(
                "validity must be 1 to 3650 days".into(),
            ));
        }
        let runtime = self.ca(ca)?;
        let t = now();
        let issuer = self.issuer(&runtime)?;
        let not_after = (t + spec.validity_days * 86400).min(runtime.cert.not_after);
        let (der, serial) = issue(
            &issuer,
            &CertificateRequest {
                subject: spec.subject,
                spki_der: spec.spki_der,
                profile: spec.profile.clone(),
                not_before: t - 60,
                not_after,
                alt_names: spec.alt_names,
                extra_extensions: vec![],
            },
        )?;
        self.record_issued(ca, &der, &serial, profile_name(&spec.profile), actor, why)
            .await?;
        Ok((der, hex::encode(serial)))
    }

    fn status_changed(&self, ca: &str) {
        lock(&self.crls).remove(ca);
        lock(&self.ocsp_cache).retain(|(c, _), _| c != ca);
    }

    #[allow(clippy::too_many_arguments)]
    async fn change(
        &self,
        ca: &str,
        serial: &str,
        from: &[&str],
        to: &str,
        reason: Option<&str>,
        action: &'static str,
        expected: &'static str,
        actor: &str,
        why: &str,
    ) -> Result<(), TrustError> {
        self.ca(ca)?;
        let serial = serial.to_ascii_lowercase();
        if self.store.certificate(ca, &serial).await?.is_none() {
            return Err(TrustError::UnknownCertificate {
                ca: ca.into(),
                serial,
            });
        }
        if !self
            .store
            .change_certificate_status(ca, &serial, from, to, reason, action, actor, why)
            .await?
        {
            return Err(TrustError::WrongState {
                serial,
                action,
                expected,
            });
        }
        self.status_changed(ca);
        tracing::info!(ca, action, "certificate status changed");
        Ok(())
    }

    /// Revokes a certificate (also one that is suspended).
    pub async fn revoke(
        &self,
        ca: &str,
        serial: &str,
        reason: CrlReason,
        actor: &str,
        why: &str,
    ) -> Result<(), TrustError> {
        self.change(
            ca,
            serial,
            &["good", "suspended"],
            "revoked",
            Some(reason_name(reason)),
            "revoked",
            "valid or suspended",
            actor,
            why,
        )
        .await
    }

    /// Suspends a certificate (certificateHold).
    pub async fn suspend(
        &self,
        ca: &str,
        serial: &str,
        actor: &str,
        why: &str,
    ) -> Result<(), TrustError> {
        self.change(
            ca,
            serial,
            &["good"],
            "suspended",
            Some("certificateHold"),
            "suspended",
            "valid",
            actor,
            why,
        )
        .await
    }

    /// Lifts a suspension.
    pub async fn reinstate(
        &self,
        ca: &str,
        serial: &str,
        actor: &str,
        why: &str,
    ) -> Result<(), TrustError> {
        self.change(
            ca,
            serial,
            &["suspended"],
            "good",
            None,
            "reinstated",
            "suspended",
            actor,
            why,
        )
        .await
    }

    /// The CA's current CRL (DER), re-signed when its status changed or its nextUpdate nears.
    pub async fn crl(&self, ca: &str) -> Result<Vec<u8>, TrustError> {
        let t = now();
        if let Some(c) = lock(&self.crls).get(ca)
            && c.next_update - t > CRL_VALIDITY / 2
        {
            return Ok(c.der.clone());
        }
        let runtime = self.ca(ca)?;
        let entries = self
            .store
            .revoked_certificates(ca)
            .await?
            .into_iter()
            .filter_map(|r| {
                Some(RevokedEntry {
                    serial: hex::decode(&r.serial_hex).ok()?,
                    at: r.revoked_at_ms? / 1000,
                    reason: r.reason.as_deref().and_then(reason_from_name),
                })
            })
            .collect::<Vec<_>>();
        let number = u64::try_from(self.store.next_crl_number(ca).await?).unwrap_or(0);
        let der = build_crl(
            &self.issuer(&runtime)?,
            t,
            t + CRL_VALIDITY,
            number,
            &entries,
        )?;
        lock(&self.crls).insert(
            ca.to_owned(),
            CachedCrl {
                der: der.clone(),
                next_update: t + CRL_VALIDITY,
            },
        );
        Ok(der)
    }

    async fn serial_status(&self, ca: &str, serial: &[u8]) -> Result<SerialStatus, TrustError> {
        Ok(
            match self.store.certificate(ca, &hex::encode(serial)).await? {
                None => SerialStatus::Unknown,
                Some(r) => match r.status.as_str() {
                    "good" => SerialStatus::Good,
                    _ => SerialStatus::Revoked {
                        at: r.revoked_at_ms.unwrap_or(0) / 1000,
                        reason: r.reason.as_deref().and_then(reason_from_name),
                    },
                },
            },
        )
    }

    /// Answers an OCSP request for `ca` (DER in, DER out); protocol errors are OCSP statuses.
    pub async fn ocsp(&self, ca: &str, request_der: &[u8]) -> Vec<u8> {
        let Ok(runtime) = self.ca(ca) else {
            return status_only(OcspResponseStatus::Unauthorized);
        };
        let Some(req) = parse_request(request_der) else {
            return status_only(OcspResponseStatus::MalformedRequest);
        };
        match self.answer(&runtime, &req).await {
            Ok(der) => der,
            Err(e) => {
                tracing::error!(ca, error = %e, "OCSP response failed");
                status_only(OcspResponseStatus::InternalError)
            }
        }
    }

    async fn answer(&self, ca: &CaRuntime, req: &ParsedRequest) -> Result<Vec<u8>, TrustError> {
        let responder = Responder {
            ca: &ca.cert,
            responder_cert: &ca.ocsp_cert,
            signer: ca.ocsp_signer.as_ref(),
            validity_secs: OCSP_VALIDITY,
        };
        if !responder.serves(req) {
            return Ok(status_only(OcspResponseStatus::Unauthorized));
        }
        let t = now();
        let key = (
            ca.record.name.clone(),
            req.cert_ids
                .iter()
                .flat_map(|c| c.to_der().unwrap_or_default())
                .collect::<Vec<u8>>(),
        );
        if req.nonce.is_none()
            && let Some((der, produced)) = lock(&self.ocsp_cache).get(&key)
            && t - produced < OCSP_CACHE_SECS
        {
            return Ok(der.clone());
        }
        let mut statuses = HashMap::new();
        for id in &req.cert_ids {
            let s = id.serial_number.as_bytes().to_vec();
            let st = self.serial_status(&ca.record.name, &s).await?;
            statuses.insert(s, st);
        }
        let der = responder.respond(req, t, |s| {
            statuses.get(s).copied().unwrap_or(SerialStatus::Unknown)
        })?;
        if req.nonce.is_none() {
            lock(&self.ocsp_cache).insert(key, (der.clone(), t));
        }
        Ok(der)
    }

    async fn load_tsa(&self, setting: &str) -> Result<(), TrustError> {
        // "name|ca|serial_hex|key_label|policy"
        let parts: Vec<&str> = setting.split('|').collect();
        let [name, ca, serial, label, policy] = parts[..] else {
            return Err(TrustError::Corrupt(format!("setting {TSA_SETTING}")));
        };
        let record = self
            .store
            .certificate(ca, serial)
            .await?
            .ok_or_else(|| TrustError::Corrupt(format!("TSA certificate {serial} of {ca}")))?;
        let cert = ParsedCert::from_der(&record.cert_der)
            .map_err(|e| TrustError::Corrupt(e.to_string()))?;
        let signer = self.keys.open(label)?;
        let policy = policy
            .parse()
            .map_err(|_| TrustError::Corrupt(format!("TSA policy {policy}")))?;
        // The issuing CA up to (not including) the root.
        let mut chain = Vec::new();
        let mut next = Some(ca.to_string());
        while let Some(name) = next.take() {
            let Some(rt) = self
                .cas
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&name)
                .cloned()
            else {
                break;
            };
            if rt.cert.is_self_issued() {
                break;
            }
            chain.push(rt.cert.clone());
            next = rt.record.parent.clone();
        }
        *self.tsa.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(TsaRuntime {
            name: name.into(),
            cert,
            chain,
            signer,
            policy,
        }));
        Ok(())
    }

    /// Creates the node's time-stamp authority: a key, a TSA certificate from `ca`, and a
    /// trusted-list entry. One TSA per node.
    pub async fn create_tsa(
        &self,
        name: &str,
        ca: &str,
        policy: ObjectIdentifier,
        actor: &str,
    ) -> Result<(), TrustError> {
        check_name(name)?;
        if self.tsa.read().unwrap_or_else(|p| p.into_inner()).is_some() {
            return Err(TrustError::CaExists(name.into()));
        }
        let key = self
            .keys
            .open_or_generate(&format!("tsa-{name}"), KeyAlgorithm::EcP256)?;
        let subject = NameBuilder::new()
            .country("MN")?
            .organization("Tamga")?
            .common_name(&format!("{name} time-stamp authority"))?
            .build();
        let spec = IssueSpec {
            profile: Profile::Tsa,
            subject,
            spki_der: key.public_key_der().to_vec(),
            alt_names: vec![],
            validity_days: 3 * 365,
        };
        let (_, serial) = self.issue(ca, spec, actor, "time-stamp authority").await?;
        let setting = format!("{name}|{ca}|{serial}|{}|{policy}", key.label());
        self.store.setting_or_insert(TSA_SETTING, &setting).await?;
        self.store
            .add_trusted_list_entry(&TrustedListEntry {
                service: name.into(),
                kind: "tsa".into(),
                status: "granted".into(),
                from_ms: now() * 1000,
                actor: actor.into(),
                note: "time-stamp authority created".into(),
            })
            .await?;
        self.load_tsa(&setting).await
    }

    /// Whether this node runs a TSA.
    pub fn has_tsa(&self) -> bool {
        self.tsa.read().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// The TSA's certificate (DER).
    pub fn tsa_certificate(&self) -> Option<Vec<u8>> {
        self.tsa
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|t| t.cert.der.clone())
    }

    /// Answers an RFC 3161 request (DER in, DER `TimeStampResp` out).
    pub fn timestamp(&self, request_der: &[u8]) -> Vec<u8> {
        let Some(tsa) = self.tsa.read().unwrap_or_else(|p| p.into_inner()).clone() else {
            return tamga_tsa::rejection(
                tamga_tsa::FailureInfo::SystemFailure,
                "this node runs no time-stamp authority",
            );
        };
        tamga_tsa::Tsa {
            cert: &tsa.cert,
            chain: &tsa.chain,
            signer: tsa.signer.as_ref(),
            policy: tsa.policy,
            accuracy_secs: 1,
        }
        .respond(request_der, now())
    }

    /// The signed trusted list (JWS JSON serialization, see [`trusted_list`]).
    pub async fn trusted_list(&self) -> Result<String, TrustError> {
        let history = self.store.trusted_list_history().await?;
        let mut certs: BTreeMap<String, Vec<u8>> = self
            .ca_names()
            .into_iter()
            .filter_map(|n| self.ca(&n).ok().map(|c| (n, c.cert.der.clone())))
            .collect();
        if let Some(tsa) = self.tsa.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            certs.insert(tsa.name.clone(), tsa.cert.der.clone());
        }
        trusted_list::sign(&history, &certs, self.list_signer.as_ref(), now())
    }

    /// Records a trusted-list status change (granted / withdrawn) for a service.
    pub async fn set_trusted_status(
        &self,
        service: &str,
        granted: bool,
        actor: &str,
        note: &str,
    ) -> Result<(), TrustError> {
        self.ca(service)?;
        self.store
            .add_trusted_list_entry(&TrustedListEntry {
                service: service.into(),
                kind: "ca".into(),
                status: if granted { "granted" } else { "withdrawn" }.into(),
                from_ms: now() * 1000,
                actor: actor.into(),
                note: note.into(),
            })
            .await?;
        Ok(())
    }

    /// The history of a certificate (issued, suspended, …) with who and why.
    pub async fn history(
        &self,
        ca: &str,
        serial: &str,
    ) -> Result<Vec<tamga_store::CertEvent>, TrustError> {
        Ok(self
            .store
            .certificate_events(ca, &serial.to_ascii_lowercase())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_names_round_trip_and_only_operator_reasons_parse() {
        for (r, name, requestable) in REASONS {
            assert_eq!(reason_name(r), name);
            assert_eq!(reason_from_name(name), Some(r));
            assert_eq!(parse_reason(name).is_ok(), requestable, "{name}");
        }
        let err = parse_reason("stolen").unwrap_err().to_string();
        assert!(
            err.contains("keyCompromise") && !err.contains("certificateHold"),
            "{err}"
        );
    }
}
