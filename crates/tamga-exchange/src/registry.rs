//! The registry: the exchange's members, subsystems, services, groups, access rights and
//! gateways, changed by operator commands, each change a new stored version (the history is
//! the audit trail), published as a signed global configuration ([`crate::globalconf`]).
//!
//! Every change is validated by building the configuration it would publish: a right on an
//! unknown service or a gateway with an unreadable certificate is refused before it is stored.

use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tamga_keys::Signer;
use tamga_store::Store;

use crate::globalconf::{
    self, AccessRight, ConfIndex, Gateway, GlobalConf, Group, LedgerRef, Member, Service,
    SignedConf, sha256,
};
use crate::id::{ClientId, ServiceId};

/// A registry problem.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The command is wrong (unknown member, duplicate, bad certificate...).
    #[error("{0}")]
    BadCommand(String),
    /// Concurrent changes kept winning.
    #[error("the registry changed concurrently; retry")]
    Conflict,
    /// Storage.
    #[error(transparent)]
    Store(#[from] tamga_store::StoreError),
    /// Signing.
    #[error("cannot sign the global configuration: {0}")]
    Sign(String),
}

/// What the registry holds (the configuration without version and validity).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct RegistryState {
    /// Instance.
    pub instance: String,
    /// Members.
    pub members: Vec<Member>,
    /// Services.
    pub services: Vec<Service>,
    /// Groups.
    pub groups: Vec<Group>,
    /// Rights.
    pub rights: Vec<AccessRight>,
    /// Gateways.
    pub gateways: Vec<Gateway>,
    /// CA certificates (base64 DER).
    pub ca_certificates: Vec<String>,
    /// Trusted list URL.
    pub trusted_list_url: Option<String>,
    /// TSA URL.
    pub tsa_url: Option<String>,
    /// Ledger.
    pub ledger: Option<LedgerRef>,
    /// Largest body (bytes).
    pub max_body_bytes: u64,
}

/// An operator command (admin API and CLI).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    /// Adds a member.
    AddMember {
        /// Class.
        class: String,
        /// Code.
        code: String,
        /// Mongolian name.
        name_mn: String,
        /// English name.
        name_en: String,
    },
    /// Adds a subsystem to a member (`INSTANCE/CLASS/MEMBER`).
    AddSubsystem {
        /// Member id.
        member: String,
        /// Subsystem code.
        code: String,
    },
    /// Adds or replaces a service.
    SetService {
        /// Service id.
        id: String,
        /// Interface version.
        version: String,
        /// Mongolian title.
        title_mn: String,
        /// English title.
        title_en: String,
        /// Returns personal data.
        personal: bool,
        /// OpenAPI description (JSON text).
        #[serde(default)]
        openapi: Option<String>,
    },
    /// Defines or replaces a group.
    SetGroup {
        /// Code.
        code: String,
        /// Description.
        description: String,
        /// Member subsystems.
        members: Vec<String>,
    },
    /// Grants a right.
    Grant {
        /// Service id.
        service: String,
        /// Subsystem or `group:CODE`.
        client: String,
        /// Allowed disclosure delay (days), 0 = none.
        #[serde(default)]
        max_disclosure_delay_days: u32,
    },
    /// Revokes a right.
    Revoke {
        /// Service id.
        service: String,
        /// Subsystem or `group:CODE`.
        client: String,
    },
    /// Registers or replaces a member's gateway (certificates in PEM).
    SetGateway {
        /// Member id.
        member: String,
        /// `https://host:port`.
        address: String,
        /// TLS server certificate (PEM).
        tls_server_certificate: String,
        /// TLS client certificate (PEM).
        tls_client_certificate: String,
        /// Message-signing certificate (PEM).
        signing_certificate: String,
    },
    /// Removes a member's gateway (its certificates stop being trusted with the next
    /// configuration).
    RemoveGateway {
        /// Member id.
        member: String,
    },
    /// Adds a CA certificate (PEM) that issues gateway certificates.
    AddCa {
        /// PEM.
        certificate: String,
    },
    /// Sets the trusted list, TSA and ledger references.
    SetServices {
        /// Trusted list URL.
        trusted_list_url: Option<String>,
        /// TSA URL.
        tsa_url: Option<String>,
        /// Ledger.
        ledger: Option<LedgerRef>,
    },
}

fn bad(m: impl Into<String>) -> RegistryError {
    RegistryError::BadCommand(m.into())
}

fn der_of_pem(pem: &str, what: &str) -> Result<Vec<u8>, RegistryError> {
    let cert = tamga_pki::ParsedCert::from_pem_or_der(pem.as_bytes())
        .map_err(|e| bad(format!("{what}: {e}")))?;
    Ok(cert.der)
}

impl RegistryState {
    fn member_mut(&mut self, id: &str) -> Result<&mut Member, RegistryError> {
        let c = ClientId::parse(id).map_err(|e| bad(e.to_string()))?;
        if c.subsystem.is_some() || c.instance != self.instance {
            return Err(bad(format!(
                "{id} is not a member of instance {}",
                self.instance
            )));
        }
        self.members
            .iter_mut()
            .find(|m| m.class == c.class && m.code == c.member)
            .ok_or_else(|| bad(format!("unknown member {id}")))
    }

    /// Applies a command.
    pub fn apply(&mut self, cmd: &Command) -> Result<(), RegistryError> {
        match cmd {
            Command::AddMember {
                class,
                code,
                name_mn,
                name_en,
            } => {
                let id = format!("{}/{class}/{code}", self.instance);
                ClientId::parse(&id).map_err(|e| bad(e.to_string()))?;
                if self
                    .members
                    .iter()
                    .any(|m| m.class == *class && m.code == *code)
                {
                    return Err(bad(format!("member {id} exists")));
                }
                self.members.push(Member {
                    class: class.clone(),
                    code: code.clone(),
                    name_mn: name_mn.clone(),
                    name_en: name_en.clone(),
                    subsystems: vec![],
                });
            }
            Command::AddSubsystem { member, code } => {
                let m = self.member_mut(member)?;
                if m.subsystems.contains(code) {
                    return Err(bad(format!("subsystem {member}/{code} exists")));
                }
                m.subsystems.push(code.clone());
            }
            Command::SetService {
                id,
                version,
                title_mn,
                title_en,
                personal,
                openapi,
            } => {
                ServiceId::parse(id).map_err(|e| bad(e.to_string()))?;
                if let Some(o) = openapi {
                    let v: serde_json::Value = serde_json::from_str(o)
                        .map_err(|e| bad(format!("openapi is not JSON: {e}")))?;
                    if !v["openapi"].as_str().is_some_and(|s| s.starts_with('3')) {
                        return Err(bad("openapi must be an OpenAPI 3 document"));
                    }
                }
                let s = Service {
                    id: id.clone(),
                    version: version.clone(),
                    title_mn: title_mn.clone(),
                    title_en: title_en.clone(),
                    personal: *personal,
                    openapi: openapi.clone(),
                };
                self.services.retain(|x| x.id != *id);
                self.services.push(s);
            }
            Command::SetGroup {
                code,
                description,
                members,
            } => {
                for m in members {
                    ClientId::parse_subsystem(m).map_err(|e| bad(e.to_string()))?;
                }
                self.groups.retain(|g| g.code != *code);
                self.groups.push(Group {
                    code: code.clone(),
                    description: description.clone(),
                    members: members.clone(),
                });
            }
            Command::Grant {
                service,
                client,
                max_disclosure_delay_days,
            } => {
                if !client.starts_with("group:") {
                    ClientId::parse_subsystem(client).map_err(|e| bad(e.to_string()))?;
                } else if !self
                    .groups
                    .iter()
                    .any(|g| format!("group:{}", g.code) == *client)
                {
                    return Err(bad(format!("unknown group {client}")));
                }
                if *max_disclosure_delay_days > 3650 {
                    return Err(bad("a disclosure delay is at most 3650 days"));
                }
                self.rights
                    .retain(|r| !(r.service == *service && r.client == *client));
                self.rights.push(AccessRight {
                    service: service.clone(),
                    client: client.clone(),
                    max_disclosure_delay_days: *max_disclosure_delay_days,
                });
            }
            Command::Revoke { service, client } => {
                let before = self.rights.len();
                self.rights
                    .retain(|r| !(r.service == *service && r.client == *client));
                if self.rights.len() == before {
                    return Err(bad(format!("{client} has no right on {service}")));
                }
            }
            Command::SetGateway {
                member,
                address,
                tls_server_certificate,
                tls_client_certificate,
                signing_certificate,
            } => {
                self.member_mut(member)?;
                let url: http::Uri = address
                    .parse()
                    .map_err(|_| bad(format!("address {address:?} is not a URL")))?;
                if url.scheme_str() != Some("https") || url.host().is_none() {
                    return Err(bad("a gateway address is https://host[:port]"));
                }
                let server = der_of_pem(tls_server_certificate, "TLS server certificate")?;
                let client = der_of_pem(tls_client_certificate, "TLS client certificate")?;
                let signing = der_of_pem(signing_certificate, "signing certificate")?;
                self.gateways.retain(|g| g.member != *member);
                self.gateways.push(Gateway {
                    member: member.clone(),
                    address: address.trim_end_matches('/').to_owned(),
                    tls_server_sha256: hex::encode(sha256(&server)),
                    tls_client_sha256: hex::encode(sha256(&client)),
                    signing_certificate: STANDARD.encode(signing),
                });
            }
            Command::RemoveGateway { member } => {
                let before = self.gateways.len();
                self.gateways.retain(|g| g.member != *member);
                if self.gateways.len() == before {
                    return Err(bad(format!("{member} has no gateway")));
                }
            }
            Command::AddCa { certificate } => {
                let der = der_of_pem(certificate, "CA certificate")?;
                let b64 = STANDARD.encode(der);
                if !self.ca_certificates.contains(&b64) {
                    self.ca_certificates.push(b64);
                }
            }
            Command::SetServices {
                trusted_list_url,
                tsa_url,
                ledger,
            } => {
                self.trusted_list_url = trusted_list_url.clone();
                self.tsa_url = tsa_url.clone();
                self.ledger = ledger.clone();
            }
        }
        Ok(())
    }

    fn conf(&self, version: u64, issued_at: i64, validity: i64) -> GlobalConf {
        GlobalConf {
            format: globalconf::FORMAT.into(),
            instance: self.instance.clone(),
            version,
            issued_at,
            expires_at: issued_at + validity,
            members: self.members.clone(),
            services: self.services.clone(),
            groups: self.groups.clone(),
            rights: self.rights.clone(),
            gateways: self.gateways.clone(),
            ca_certificates: self.ca_certificates.clone(),
            trusted_list_url: self.trusted_list_url.clone(),
            tsa_url: self.tsa_url.clone(),
            ledger: self.ledger.clone(),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

struct Published {
    version: u64,
    issued_at: i64,
    json: Arc<Vec<u8>>,
}

/// The registry of one exchange instance.
pub struct Registry {
    store: Store,
    signer: Arc<dyn Signer>,
    validity_secs: i64,
    current: RwLock<(i64, RegistryState)>,
    published: RwLock<Option<Published>>,
}

fn now() -> i64 {
    tamga_store::now_ms() / 1000
}

impl Registry {
    /// Opens the registry stored in `store` (empty for `instance` if none), signing its
    /// configuration with `signer`, each valid for `validity_secs`.
    pub async fn open(
        store: Store,
        signer: Arc<dyn Signer>,
        instance: &str,
        validity_secs: i64,
    ) -> Result<Self, RegistryError> {
        let current = match store.registry_latest().await? {
            Some((v, text)) => (
                v,
                serde_json::from_str(&text)
                    .map_err(|e| bad(format!("stored registry state: {e}")))?,
            ),
            None => (
                0,
                RegistryState {
                    instance: instance.into(),
                    max_body_bytes: 10 * 1024 * 1024,
                    ..Default::default()
                },
            ),
        };
        Ok(Self {
            store,
            signer,
            validity_secs: validity_secs.max(10),
            current: RwLock::new(current),
            published: RwLock::new(None),
        })
    }

    /// The registry key's SubjectPublicKeyInfo (what gateways trust).
    pub fn public_key_der(&self) -> &[u8] {
        self.signer.public_key_der()
    }

    /// The current (version, state).
    pub fn state(&self) -> (i64, RegistryState) {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Applies commands as one new version; returns the version.
    pub async fn change(
        &self,
        commands: &[Command],
        actor: &str,
        why: &str,
    ) -> Result<i64, RegistryError> {
        for _ in 0..5 {
            let (version, mut state) = match self.store.registry_latest().await? {
                Some((v, text)) => (
                    v,
                    serde_json::from_str::<RegistryState>(&text)
                        .map_err(|e| bad(format!("stored registry state: {e}")))?,
                ),
                None => self.state(),
            };
            for c in commands {
                state.apply(c)?;
            }
            // The configuration this would publish must be consistent.
            ConfIndex::new(state.conf(0, 0, 1)).map_err(|e| bad(e.to_string()))?;
            let text = serde_json::to_string(&state).map_err(|e| bad(e.to_string()))?;
            if self.store.registry_put(version, &text, actor, why).await? {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = (version + 1, state);
                tracing::info!(version = version + 1, actor, "registry changed");
                return Ok(version + 1);
            }
        }
        Err(RegistryError::Conflict)
    }

    /// The signed configuration (JSON), re-signed when half its validity has passed or the
    /// registry changed.
    pub fn signed_conf(&self) -> Result<Arc<Vec<u8>>, RegistryError> {
        let (version, state) = self.state();
        let version = u64::try_from(version).unwrap_or(0);
        let t = now();
        if let Some(p) = &*self.published.read().unwrap_or_else(|p| p.into_inner())
            && p.version == version
            && t < p.issued_at + self.validity_secs / 2
        {
            return Ok(Arc::clone(&p.json));
        }
        let conf = state.conf(version, t, self.validity_secs);
        let signed: SignedConf = globalconf::sign(&conf, self.signer.as_ref())
            .map_err(|e| RegistryError::Sign(e.to_string()))?;
        let json = Arc::new(serde_json::to_vec(&signed).map_err(|e| bad(e.to_string()))?);
        *self.published.write().unwrap_or_else(|p| p.into_inner()) = Some(Published {
            version,
            issued_at: t,
            json: Arc::clone(&json),
        });
        Ok(json)
    }

    /// Change history: (version, actor, why, at ms), newest first.
    pub async fn history(&self) -> Result<Vec<(i64, String, String, i64)>, RegistryError> {
        Ok(self.store.registry_history(200).await?)
    }
}
