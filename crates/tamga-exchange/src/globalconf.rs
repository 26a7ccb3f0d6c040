//! The signed global configuration: what every gateway must agree on — members and their
//! subsystems, services (personal or not, with their OpenAPI descriptions), groups, access
//! rights, gateway addresses with their TLS certificate pins and signing certificates, the CAs
//! that issue those certificates (for OCSP), the trusted list, the TSA and the ledger's keys —
//! with a version and an expiry.
//!
//! The registry signs the exact payload bytes (no canonicalisation to get wrong): the envelope
//! carries the payload in base64, the key id and the signature. A gateway accepts a new
//! configuration only if the registry's key signed it, the instance is its own, the version is
//! not older than the one it holds, and it has not expired; a gateway whose configuration has
//! expired refuses to serve ([`ConfIndex::check_valid`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::httpsig::{self, Algorithm};
use crate::id::{ClientId, ServiceId};

/// Payload format name.
pub const FORMAT: &str = "tamga-globalconf/1";
/// Envelope format name.
pub const SIGNED_FORMAT: &str = "tamga-globalconf-signed/1";

/// A member (organisation).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Member {
    /// Member class (GOV, COM, NGO, ...).
    pub class: String,
    /// Member code.
    pub code: String,
    /// Name in Mongolian.
    pub name_mn: String,
    /// Name in English.
    pub name_en: String,
    /// Subsystem codes.
    #[serde(default)]
    pub subsystems: Vec<String>,
}

/// A service a subsystem provides.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Service {
    /// `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
    pub id: String,
    /// Version of its interface.
    pub version: String,
    /// Title in Mongolian.
    pub title_mn: String,
    /// Title in English.
    pub title_en: String,
    /// Whether it returns personal data (then callers must name the data subject, purpose and
    /// legal basis, and every call enters the data tracker).
    pub personal: bool,
    /// The OpenAPI 3 description (JSON text), if published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openapi: Option<String>,
}

/// A group of clients, for granting rights to many at once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Group {
    /// Group code.
    pub code: String,
    /// Description.
    pub description: String,
    /// Member subsystems (`INSTANCE/CLASS/MEMBER/SUBSYSTEM`).
    pub members: Vec<String>,
}

/// A right to call a service (everything else is denied).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessRight {
    /// The service.
    pub service: String,
    /// A subsystem, or `group:CODE`.
    pub client: String,
    /// Whether this client may delay the data subject's view of its calls (an authority's
    /// lawful secrecy, e.g. a police inquiry), and by at most how many days.
    #[serde(default)]
    pub max_disclosure_delay_days: u32,
}

/// A member's gateway.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Gateway {
    /// The member (`INSTANCE/CLASS/MEMBER`).
    pub member: String,
    /// Where other gateways reach it (`https://host:port`).
    pub address: String,
    /// SHA-256 (hex) of its TLS server certificate.
    pub tls_server_sha256: String,
    /// SHA-256 (hex) of its TLS client certificate.
    pub tls_client_sha256: String,
    /// Its message-signing certificate (base64 DER); the `keyid` of its signatures is the
    /// certificate's SHA-256 (hex).
    pub signing_certificate: String,
}

/// The ledger's public side, so records' receipts can be checked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default, utoipa::ToSchema)]
pub struct LedgerRef {
    /// Base URL of the ledger node.
    pub url: String,
    /// Verifier keys of the logs (`exchange`, `access`), C2SP vkey form.
    pub logs: HashMap<String, String>,
    /// Witness verifier keys.
    #[serde(default)]
    pub witnesses: Vec<String>,
}

/// The configuration itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GlobalConf {
    /// [`FORMAT`].
    pub format: String,
    /// X-Road instance.
    pub instance: String,
    /// Monotonic version.
    pub version: u64,
    /// When it was signed (Unix seconds).
    pub issued_at: i64,
    /// When gateways must stop using it (Unix seconds).
    pub expires_at: i64,
    /// Members.
    pub members: Vec<Member>,
    /// Services.
    pub services: Vec<Service>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Access rights.
    pub rights: Vec<AccessRight>,
    /// Gateways.
    pub gateways: Vec<Gateway>,
    /// CA certificates (base64 DER) that issue gateway certificates.
    #[serde(default)]
    pub ca_certificates: Vec<String>,
    /// The trusted list's URL.
    #[serde(default)]
    pub trusted_list_url: Option<String>,
    /// The time-stamp authority's URL.
    #[serde(default)]
    pub tsa_url: Option<String>,
    /// The ledger.
    #[serde(default)]
    pub ledger: Option<LedgerRef>,
    /// Largest message body gateways accept (bytes).
    pub max_body_bytes: u64,
}

/// A signed configuration, as published.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedConf {
    /// [`SIGNED_FORMAT`].
    pub format: String,
    /// The payload (JSON of [`GlobalConf`]), base64.
    pub payload: String,
    /// Signature algorithm (RFC 9421 registry names).
    pub alg: String,
    /// Hex SHA-256 of the registry key's SubjectPublicKeyInfo.
    pub keyid: String,
    /// Signature over the payload bytes, base64.
    pub signature: String,
}

/// Why a configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfError {
    /// Not parseable.
    #[error("global configuration is malformed: {0}")]
    Malformed(String),
    /// Not signed by the registry key the gateway trusts.
    #[error("global configuration is not signed by the trusted registry key")]
    BadSignature,
    /// Another instance's configuration.
    #[error("global configuration is for instance {0:?}")]
    WrongInstance(String),
    /// Older than the one held.
    #[error("global configuration version {got} is older than {held}")]
    Rollback {
        /// Offered.
        got: u64,
        /// Held.
        held: u64,
    },
    /// Expired.
    #[error("global configuration version {version} expired at {expires_at}")]
    Expired {
        /// Version.
        version: u64,
        /// Expiry.
        expires_at: i64,
    },
    /// Internally inconsistent.
    #[error("global configuration is inconsistent: {0}")]
    Inconsistent(String),
}

/// Signs `conf` with the registry's key.
pub fn sign(conf: &GlobalConf, signer: &dyn tamga_keys::Signer) -> Result<SignedConf, ConfError> {
    let payload = serde_json::to_vec(conf).map_err(|e| ConfError::Malformed(e.to_string()))?;
    let signature = httpsig::sign(signer, &payload).map_err(|_| ConfError::BadSignature)?;
    Ok(SignedConf {
        format: SIGNED_FORMAT.into(),
        payload: STANDARD.encode(&payload),
        alg: Algorithm::for_key(signer.key_algorithm()).name().into(),
        keyid: signer.key_id(),
        signature: STANDARD.encode(signature),
    })
}

/// Verifies an envelope with the registry's public key (DER SPKI) and parses it.
pub fn verify(signed: &[u8], registry_spki: &[u8]) -> Result<GlobalConf, ConfError> {
    let env: SignedConf =
        serde_json::from_slice(signed).map_err(|e| ConfError::Malformed(e.to_string()))?;
    if env.format != SIGNED_FORMAT {
        return Err(ConfError::Malformed(format!("format {:?}", env.format)));
    }
    let alg = Algorithm::parse(&env.alg).map_err(|e| ConfError::Malformed(e.to_string()))?;
    if alg == Algorithm::HmacSha256 {
        return Err(ConfError::BadSignature);
    }
    let payload = STANDARD
        .decode(&env.payload)
        .map_err(|_| ConfError::Malformed("payload is not base64".into()))?;
    let sig = STANDARD
        .decode(&env.signature)
        .map_err(|_| ConfError::Malformed("signature is not base64".into()))?;
    httpsig::verify(alg, registry_spki, &payload, &sig).map_err(|_| ConfError::BadSignature)?;
    let conf: GlobalConf =
        serde_json::from_slice(&payload).map_err(|e| ConfError::Malformed(e.to_string()))?;
    if conf.format != FORMAT {
        return Err(ConfError::Malformed(format!("format {:?}", conf.format)));
    }
    Ok(conf)
}

/// A gateway's signing identity, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct SigningIdentity {
    /// Member.
    pub member: ClientId,
    /// Certificate DER.
    pub certificate: Vec<u8>,
    /// Its SubjectPublicKeyInfo DER.
    pub spki: Vec<u8>,
    /// Its signature algorithm.
    pub alg: Algorithm,
}

/// A verified configuration with lookups built once.
#[derive(Debug)]
pub struct ConfIndex {
    /// The configuration.
    pub conf: GlobalConf,
    services: HashMap<String, Service>,
    /// (service, client or group:CODE) → max disclosure delay days.
    rights: HashMap<(String, String), u32>,
    /// subsystem → groups it belongs to.
    groups_of: HashMap<String, Vec<String>>,
    gateways: HashMap<String, Gateway>,
    tls_server: HashMap<[u8; 32], String>,
    tls_client: HashMap<[u8; 32], String>,
    signers: HashMap<String, SigningIdentity>,
    subsystems: HashSet<String>,
    /// CA certificates (DER).
    pub cas: Vec<Vec<u8>>,
}

fn hex32(s: &str) -> Result<[u8; 32], ConfError> {
    let v = hex::decode(s).map_err(|_| ConfError::Inconsistent(format!("pin {s:?} is not hex")))?;
    v.try_into()
        .map_err(|_| ConfError::Inconsistent(format!("pin {s:?} is not 32 bytes")))
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl ConfIndex {
    /// Indexes a verified configuration, checking it is consistent.
    pub fn new(conf: GlobalConf) -> Result<Arc<Self>, ConfError> {
        let bad = |m: String| ConfError::Inconsistent(m);
        let mut subsystems = HashSet::new();
        let mut members = HashSet::new();
        for m in &conf.members {
            let id = format!("{}/{}/{}", conf.instance, m.class, m.code);
            ClientId::parse(&id).map_err(|e| bad(e.to_string()))?;
            members.insert(id.clone());
            for s in &m.subsystems {
                let sid = format!("{id}/{s}");
                ClientId::parse_subsystem(&sid).map_err(|e| bad(e.to_string()))?;
                subsystems.insert(sid);
            }
        }
        let mut services = HashMap::new();
        for s in &conf.services {
            let id = ServiceId::parse(&s.id).map_err(|e| bad(e.to_string()))?;
            if !subsystems.contains(&id.provider.to_string()) {
                return Err(bad(format!("service {} of an unknown subsystem", s.id)));
            }
            services.insert(s.id.clone(), s.clone());
        }
        let mut groups_of: HashMap<String, Vec<String>> = HashMap::new();
        for g in &conf.groups {
            for m in &g.members {
                groups_of
                    .entry(m.clone())
                    .or_default()
                    .push(format!("group:{}", g.code));
            }
        }
        let mut rights = HashMap::new();
        for r in &conf.rights {
            if !services.contains_key(&r.service) {
                return Err(bad(format!("right on unknown service {}", r.service)));
            }
            rights.insert(
                (r.service.clone(), r.client.clone()),
                r.max_disclosure_delay_days,
            );
        }
        let mut gateways = HashMap::new();
        let mut tls_server = HashMap::new();
        let mut tls_client = HashMap::new();
        let mut signers = HashMap::new();
        for g in &conf.gateways {
            if !members.contains(&g.member) {
                return Err(bad(format!("gateway of unknown member {}", g.member)));
            }
            tls_server.insert(hex32(&g.tls_server_sha256)?, g.member.clone());
            tls_client.insert(hex32(&g.tls_client_sha256)?, g.member.clone());
            let der = STANDARD
                .decode(&g.signing_certificate)
                .map_err(|_| bad(format!("{}: signing certificate is not base64", g.member)))?;
            let cert = tamga_pki::ParsedCert::from_der(&der)
                .map_err(|e| bad(format!("{}: signing certificate: {e}", g.member)))?;
            let spki = cert.spki_der.clone();
            let key_alg = tamga_keys_algorithm(&spki)
                .ok_or_else(|| bad(format!("{}: unsupported signing key", g.member)))?;
            signers.insert(
                hex::encode(sha256(&der)),
                SigningIdentity {
                    member: ClientId::parse(&g.member).map_err(|e| bad(e.to_string()))?,
                    certificate: der,
                    spki,
                    alg: key_alg,
                },
            );
            gateways.insert(g.member.clone(), g.clone());
        }
        let mut cas = Vec::new();
        for c in &conf.ca_certificates {
            cas.push(
                STANDARD
                    .decode(c)
                    .map_err(|_| bad("CA certificate is not base64".into()))?,
            );
        }
        Ok(Arc::new(Self {
            conf,
            services,
            rights,
            groups_of,
            gateways,
            tls_server,
            tls_client,
            signers,
            subsystems,
            cas,
        }))
    }

    /// Fails when the configuration has expired at `now`.
    pub fn check_valid(&self, now: i64) -> Result<(), ConfError> {
        if now >= self.conf.expires_at {
            return Err(ConfError::Expired {
                version: self.conf.version,
                expires_at: self.conf.expires_at,
            });
        }
        Ok(())
    }

    /// A service by id.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.get(id)
    }

    /// Whether a subsystem exists.
    pub fn has_subsystem(&self, id: &str) -> bool {
        self.subsystems.contains(id)
    }

    /// The access right of `client` on `service` (directly or through a group): the allowed
    /// disclosure delay in days, or `None` when denied.
    pub fn right(&self, service: &str, client: &str) -> Option<u32> {
        let direct = self
            .rights
            .get(&(service.to_owned(), client.to_owned()))
            .copied();
        let via_groups = self
            .groups_of
            .get(client)
            .into_iter()
            .flatten()
            .filter_map(|g| self.rights.get(&(service.to_owned(), g.clone())).copied());
        direct.into_iter().chain(via_groups).max()
    }

    /// Services `client` may call.
    pub fn allowed_services(&self, client: &str) -> Vec<&Service> {
        let mut out: Vec<&Service> = self
            .conf
            .services
            .iter()
            .filter(|s| self.right(&s.id, client).is_some())
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// A member's gateway.
    pub fn gateway(&self, member: &str) -> Option<&Gateway> {
        self.gateways.get(member)
    }

    /// The member whose TLS server certificate has this SHA-256.
    pub fn tls_server_member(&self, pin: &[u8; 32]) -> Option<&str> {
        self.tls_server.get(pin).map(String::as_str)
    }

    /// The member whose TLS client certificate has this SHA-256.
    pub fn tls_client_member(&self, pin: &[u8; 32]) -> Option<&str> {
        self.tls_client.get(pin).map(String::as_str)
    }

    /// The signing identity with this key id.
    pub fn signer(&self, keyid: &str) -> Option<&SigningIdentity> {
        self.signers.get(keyid)
    }
}

fn tamga_keys_algorithm(spki: &[u8]) -> Option<Algorithm> {
    use der::Decode;
    let s = spki::SubjectPublicKeyInfoRef::from_der(spki).ok()?;
    let oid = s.algorithm.oid;
    if oid == const_oid::db::rfc8410::ID_ED_25519 {
        return Some(Algorithm::Ed25519);
    }
    if oid == const_oid::db::rfc5912::RSA_ENCRYPTION {
        return Some(Algorithm::RsaV15Sha256);
    }
    if oid == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY {
        let curve: const_oid::ObjectIdentifier = s.algorithm.parameters?.decode_as().ok()?;
        if curve == const_oid::db::rfc5912::SECP_256_R_1 {
            return Some(Algorithm::EcdsaP256Sha256);
        }
        if curve == const_oid::db::rfc5912::SECP_384_R_1 {
            return Some(Algorithm::EcdsaP384Sha384);
        }
    }
    None
}
