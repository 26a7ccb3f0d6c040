//! The node's configuration: a TOML file, overridden by `TAMGA_…` environment variables
//! (`TAMGA_NODE__LISTEN=0.0.0.0:8443` sets `node.listen`; `__` separates levels;
//! `TAMGA_DATA_DIR` and `TAMGA_ROLES` set the top-level keys), validated
//! before anything starts. Unknown keys are errors that name the key, so a typo never silently
//! falls back to a default. Secrets are never in the file: the key passphrase and token PIN come
//! from files the operator protects (mode 0600) or from `TAMGA_KEY_PASSPHRASE` /
//! `TAMGA_PKCS11_PIN`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use tamga_keys::KeyAlgorithm;

/// Top-level keys that an environment variable may set without a `__` level separator.
/// Any other `TAMGA_X` without `__` (e.g. `TAMGA_LOG_FORMAT`, `TAMGA_KEY_PASSPHRASE`, test and
/// tool settings) is not configuration; anything with `__` is, and is validated like the file.
const TOP_LEVEL_ENV_KEYS: &[&str] = &["data_dir", "roles"];

/// Everything a node needs to start.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the node keeps its files (SQLite database, key files).
    pub data_dir: PathBuf,
    /// Which roles this node runs.
    pub roles: Vec<Role>,
    /// The HTTP listener.
    pub node: NodeConfig,
    /// The database.
    pub database: DatabaseConfig,
    /// Signing keys.
    pub keys: KeysConfig,
    /// Logging.
    pub log: LogConfig,
    /// Trust services.
    pub trust: TrustConfig,
    /// The ledger (transparency logs).
    pub ledger: LedgerConfig,
    /// Witnesses.
    pub witness: WitnessConfig,
    /// The exchange registry.
    pub registry: RegistryConfig,
    /// Exchange gateways this node runs (one per member).
    pub gateways: Vec<GatewayConfig>,
    /// The identity role (OpenID Connect provider).
    pub identity: IdentityConfig,
    /// The citizen portal.
    pub portal: PortalConfig,
    /// The electronic archive.
    pub archive: ArchiveConfig,
    /// e-Notary.
    pub notary: NotaryConfig,
}

/// e-Notary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NotaryConfig {
    /// The ledger log of the notarial register (must be one of `ledger.logs`).
    pub log: String,
    /// File holding the notary office's bearer token (mode 0600), else `TAMGA_NOTARY_TOKEN`;
    /// with neither, the office API refuses everyone (public verification still works).
    pub token_file: Option<PathBuf>,
    /// Registration numbers of the persons admitted as notaries.
    pub notaries: Vec<String>,
    /// Time-stamp authority for B-LTA completion; default the node's own (`<base>/tsa`).
    pub tsa_url: Option<String>,
}

impl Default for NotaryConfig {
    fn default() -> Self {
        NotaryConfig {
            log: "notary".into(),
            token_file: None,
            notaries: vec![],
            tsa_url: None,
        }
    }
}

/// The electronic archive (RFC 4998 evidence records).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    /// The ledger log that takes the archive's commitments (must be one of `ledger.logs`).
    pub log: String,
    /// File holding the archivists' bearer token (mode 0600), else `TAMGA_ARCHIVE_TOKEN`; with
    /// neither, the archivist API refuses everyone (the public verification page still works).
    pub token_file: Option<PathBuf>,
    /// Pending documents are sealed (one time-stamp per batch) this often, seconds.
    pub seal_interval_secs: u64,
    /// Records whose time-stamp authority certificate expires within this many days are renewed
    /// (checked hourly).
    pub renew_horizon_days: i64,
    /// Time-stamp authority URL; none: the node's own (the trust role must run).
    pub tsa_url: Option<String>,
    /// Trust anchors (PEM or DER files) for the time-stamp authorities; none: the node's own
    /// roots (the trust role must run).
    pub anchors: Vec<PathBuf>,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            log: "archive".into(),
            token_file: None,
            seal_interval_secs: 5,
            renew_horizon_days: 90,
            tsa_url: None,
            anchors: vec![],
        }
    }
}

/// The citizen portal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PortalConfig {
    /// SMTP relay for notifications (`host:port`); none: inbox only.
    pub smtp_relay: Option<String>,
    /// Sender address of notifications.
    pub smtp_from: String,
}

/// The identity role: the OpenID Connect provider (DAN).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// The issuer URL; default `<trust.base_url or http://<node.listen>>/id`. Must end in `/id`
    /// (the provider's routes are under that path).
    pub issuer: Option<String>,
    /// With no `issuer`: the host name to put in the default issuer instead of the listener's
    /// address (passkeys need a host name: WebAuthn RP IDs cannot be IP addresses).
    pub issuer_host: Option<String>,
    /// File holding the admin API's bearer token (mode 0600), else `TAMGA_ID_ADMIN_TOKEN`;
    /// with neither, the admin API is off.
    pub admin_token_file: Option<PathBuf>,
    /// Access and ID token lifetime, seconds.
    pub access_token_secs: i64,
    /// Refresh token lifetime without `offline_access`, seconds.
    pub refresh_token_secs: i64,
    /// Browser session lifetime, seconds.
    pub session_secs: i64,
    /// Certificate (ID card) sign-in over mutual TLS.
    pub certificate_login: Option<CertificateLoginConfig>,
    /// Remote signing (CSC API) with citizens' keys on a PKCS#11 token.
    pub remote_signing: Option<RemoteSigningConfig>,
}

/// Remote signing: the HSM holding citizens' signing keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemoteSigningConfig {
    /// The PKCS#11 module (`.so`).
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// File holding the user PIN (mode 0600), else `TAMGA_SIGNING_PIN`.
    #[serde(default)]
    pub pin_file: Option<PathBuf>,
    /// Lowest sign-in level that may authorize a signature: `low`, `substantial` or `high`.
    #[serde(default = "default_signing_level")]
    pub min_level: String,
}

fn default_signing_level() -> String {
    "high".into()
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            issuer_host: None,
            admin_token_file: None,
            access_token_secs: 300,
            refresh_token_secs: 8 * 3600,
            session_secs: 8 * 3600,
            certificate_login: None,
            remote_signing: None,
        }
    }
}

/// The certificate sign-in listener.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CertificateLoginConfig {
    /// Where it listens (TLS, client certificates requested).
    pub listen: SocketAddr,
    /// How browsers reach it (`https://id-card.example.mn:8443`); default `https://<listen>`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// PKCS#12 with its TLS server certificate and key.
    pub tls_p12: PathBuf,
    /// File with the PKCS#12 password (mode 0600), else `TAMGA_P12_PASSWORD`.
    #[serde(default)]
    pub p12_password_file: Option<PathBuf>,
    /// PEM file of the root CAs whose citizens may sign in.
    pub anchors_file: PathBuf,
    /// PEM file of intermediate CAs (browsers often send only the leaf).
    #[serde(default)]
    pub intermediates_file: Option<PathBuf>,
    /// How long an OCSP answer is reused, seconds (0: ask on every sign-in).
    #[serde(default)]
    pub ocsp_cache_secs: i64,
}

/// The exchange registry role: members, services, rights, gateways; signs the global
/// configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// The X-Road instance this registry serves.
    pub instance: String,
    /// Label of the configuration-signing key in the key store (created if missing).
    pub key_label: String,
    /// How long a signed configuration is valid, seconds.
    pub validity_secs: i64,
    /// File holding the admin API's bearer token (mode 0600), else `TAMGA_REGISTRY_TOKEN`;
    /// with neither, the admin API is off.
    pub admin_token_file: Option<PathBuf>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            instance: "MN".into(),
            key_label: "registry".into(),
            validity_secs: 600,
            admin_token_file: None,
        }
    }
}

/// One exchange gateway (a member's security server).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// The member it serves, `INSTANCE/CLASS/MEMBER`.
    pub member: String,
    /// Provider side: where other gateways connect (mutual TLS).
    pub listen: SocketAddr,
    /// Consumer side: where the organisation's own systems connect (plain HTTP; keep it on
    /// an internal address).
    pub client_listen: SocketAddr,
    /// URL of the registry's signed configuration (`…/exchange/globalconf`).
    pub registry_url: String,
    /// The registry's public key (SubjectPublicKeyInfo PEM file).
    pub registry_key_file: PathBuf,
    /// PKCS#12 files: TLS server, TLS client and message-signing (seal) certificates.
    pub tls_server_p12: PathBuf,
    /// TLS client certificate and key.
    pub tls_client_p12: PathBuf,
    /// Message-signing certificate and key.
    pub signing_p12: PathBuf,
    /// File with the PKCS#12 password (mode 0600), else `TAMGA_P12_PASSWORD`.
    pub p12_password_file: Option<PathBuf>,
    /// Backend base URLs by `SUBSYSTEM/SERVICE`.
    #[serde(default)]
    pub backends: std::collections::BTreeMap<String, String>,
    /// The ledger's base URL; unset: the ledger this node runs.
    #[serde(default)]
    pub ledger_url: Option<String>,
    /// File with the ledger's append token, else `TAMGA_LEDGER_TOKEN`.
    #[serde(default)]
    pub ledger_token_file: Option<PathBuf>,
    /// The TSA's URL; unset: the TSA this node runs.
    #[serde(default)]
    pub tsa_url: Option<String>,
    /// Keep full message bodies in the message log.
    #[serde(default)]
    pub log_bodies: bool,
    /// Deadline for the other gateway or the backend, seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Signature lifetime, seconds.
    #[serde(default = "default_sig_lifetime")]
    pub signature_lifetime_secs: i64,
    /// Accepted clock difference, seconds.
    #[serde(default = "default_skew")]
    pub clock_skew_secs: i64,
    /// How long records may wait for a time-stamp and ledger entry before the gateway stops
    /// accepting requests, seconds.
    #[serde(default = "default_grace")]
    pub accountability_grace_secs: u64,
    /// How often accountability batches run, milliseconds.
    #[serde(default = "default_batch_interval")]
    pub batch_interval_ms: u64,
    /// How long OCSP answers about other gateways are cached, seconds.
    #[serde(default = "default_ocsp_cache")]
    pub ocsp_cache_secs: i64,
    /// How often the global configuration is fetched, seconds.
    #[serde(default = "default_conf_poll")]
    pub conf_poll_secs: u64,
}

fn default_timeout() -> u64 {
    30
}
fn default_sig_lifetime() -> i64 {
    60
}
fn default_skew() -> i64 {
    30
}
fn default_grace() -> u64 {
    60
}
fn default_batch_interval() -> u64 {
    500
}
fn default_ocsp_cache() -> i64 {
    60
}
fn default_conf_poll() -> u64 {
    30
}

/// The ledger role: named logs with one Ed25519 key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    /// Log names (URL path elements).
    pub logs: Vec<String>,
    /// Checkpoint origin prefix; origin = `<prefix>/<log>`. Default: the node's host.
    pub origin_prefix: Option<String>,
    /// Label of the log key (Ed25519) in the key store; created if missing.
    pub key_label: String,
    /// File with the bearer token `POST /ledger/{log}/entries` requires (mode 0600), else
    /// `TAMGA_LEDGER_TOKEN`; with neither, HTTP appends are refused.
    pub append_token_file: Option<PathBuf>,
    /// Most entries per batch.
    pub max_batch: usize,
    /// Longest an entry waits for its batch, milliseconds.
    pub max_delay_ms: u64,
    /// Witnesses to collect cosignatures from.
    pub witnesses: Vec<WitnessPeer>,
    /// Also submit to the witnesses this node runs (the demo).
    pub local_witnesses: bool,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            logs: ["exchange", "access", "notary", "archive"]
                .map(String::from)
                .to_vec(),
            origin_prefix: None,
            key_label: "ledger".into(),
            append_token_file: None,
            max_batch: 4096,
            max_delay_ms: 50,
            witnesses: vec![],
            local_witnesses: false,
        }
    }
}

/// A witness the logs submit to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WitnessPeer {
    /// Its `add-checkpoint` URL.
    pub url: String,
    /// Its cosignature vkey.
    pub vkey: String,
}

/// The witness role.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WitnessConfig {
    /// Witnesses this node runs: served at `/witness/<path>/add-checkpoint`.
    pub witnesses: Vec<LocalWitness>,
    /// Logs they witness (origin + log vkey).
    pub logs: Vec<WitnessedLog>,
    /// Also witness this node's own ledger logs.
    pub local_logs: bool,
}

/// One witness this node runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LocalWitness {
    /// URL path element.
    pub path: String,
    /// Witness name (a schema-less URL).
    pub name: String,
    /// Ed25519 key label in the key store; created if missing.
    pub key_label: String,
}

/// A log a witness trusts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WitnessedLog {
    /// Checkpoint origin.
    pub origin: String,
    /// The log's vkey.
    pub vkey: String,
}

/// A role a node can run. Later issues add the trust services, registry, gateway, ledger,
/// identity provider and portal.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Node information and its public keys (`/api/v1/node`).
    Node,
    /// Trust services: CAs, OCSP, CRLs, the trusted list (`/pki/…`).
    Trust,
    /// Transparency logs (`/ledger/…`).
    Ledger,
    /// Witnesses (`/witness/…`).
    Witness,
    /// Exchange registry (`/exchange/…`).
    Registry,
    /// Exchange gateways (the `[[gateways]]` sections).
    Gateway,
    /// OpenID Connect provider (`/id/…`).
    Identity,
    /// Citizen portal (`/portal/…`).
    Portal,
    /// Electronic archive (`/archive/…`).
    Archive,
    /// e-Notary (`/notary/…`).
    Notary,
}

impl Role {
    /// Every role this binary can run.
    pub const ALL: &'static [Role] = &[
        Role::Node,
        Role::Trust,
        Role::Ledger,
        Role::Witness,
        Role::Registry,
        Role::Gateway,
        Role::Identity,
        Role::Portal,
        Role::Archive,
        Role::Notary,
    ];
}

/// The trust-services role (with signature validation at `POST /api/v1/validate`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrustConfig {
    /// Where this node is reachable from outside (put in certificates as CRL, OCSP and
    /// caIssuers URLs); default `http://<node.listen>`.
    pub base_url: Option<String>,
    /// File holding the admin API's bearer token (mode 0600), else `TAMGA_ADMIN_TOKEN`; with
    /// neither, the admin API is disabled.
    pub admin_token_file: Option<PathBuf>,
    /// Largest upload `POST /api/v1/validate` accepts, bytes.
    pub max_upload_bytes: usize,
}

impl Default for TrustConfig {
    fn default() -> Self {
        TrustConfig {
            base_url: None,
            admin_token_file: None,
            max_upload_bytes: 50 * 1024 * 1024,
        }
    }
}

/// The HTTP side.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// A name for this node in logs and `/api/v1/node`.
    pub name: String,
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Seconds one request may take.
    pub request_timeout_secs: u64,
    /// Seconds in-flight requests may run after SIGTERM.
    pub shutdown_grace_secs: u64,
}

/// The database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`; unset means `<data_dir>/tamga.db`.
    pub url: Option<String>,
    /// Connection pool size.
    pub max_connections: u32,
    /// Seconds to wait for a connection.
    pub connect_timeout_secs: u64,
}

/// Where signing keys live.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// `software` (encrypted PKCS#8 files under `<data_dir>/keys`) or `pkcs11`.
    pub backend: KeyBackend,
    /// File holding the passphrase of software keys (else `TAMGA_KEY_PASSPHRASE`).
    pub passphrase_file: Option<PathBuf>,
    /// Label of the node's own signing key.
    pub node_key_label: String,
    /// Algorithm for the node key when it is first generated.
    #[serde(with = "key_algorithm_name")]
    pub node_key_algorithm: KeyAlgorithm,
    /// The token, when `backend = "pkcs11"`.
    pub pkcs11: Option<Pkcs11Section>,
}

/// Which key store.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum KeyBackend {
    /// aws-lc-rs keys in encrypted files.
    Software,
    /// A PKCS#11 token.
    Pkcs11,
}

/// A PKCS#11 token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Section {
    /// The module (`.so`).
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// File holding the user PIN (else `TAMGA_PKCS11_PIN`).
    pub pin_file: Option<PathBuf>,
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json` (`TAMGA_LOG_FORMAT` wins).
    pub format: String,
    /// Filter in `RUST_LOG` syntax (`TAMGA_LOG` wins).
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./tamga-data"),
            roles: vec![Role::Node],
            node: NodeConfig::default(),
            database: DatabaseConfig::default(),
            keys: KeysConfig::default(),
            log: LogConfig::default(),
            trust: TrustConfig::default(),
            ledger: LedgerConfig::default(),
            witness: WitnessConfig::default(),
            registry: RegistryConfig::default(),
            gateways: vec![],
            identity: IdentityConfig::default(),
            portal: PortalConfig {
                smtp_relay: None,
                smtp_from: "noreply@tamga.localhost".into(),
            },
            archive: ArchiveConfig::default(),
            notary: NotaryConfig::default(),
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            name: "tamga".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            request_timeout_secs: 30,
            shutdown_grace_secs: 30,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 8,
            connect_timeout_secs: 5,
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            backend: KeyBackend::Software,
            passphrase_file: None,
            node_key_label: "node".into(),
            node_key_algorithm: KeyAlgorithm::EcP256,
            pkcs11: None,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

mod key_algorithm_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use tamga_keys::KeyAlgorithm;

    pub fn serialize<S: Serializer>(a: &KeyAlgorithm, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(a.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<KeyAlgorithm, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(|_| {
            let known: Vec<_> = KeyAlgorithm::ALL.iter().map(|a| a.name()).collect();
            serde::de::Error::custom(format!(
                "unknown key algorithm {name:?}, expected one of {}",
                known.join(", ")
            ))
        })
    }
}

/// A configuration that could not be loaded; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an override does not fit the schema.
    #[error("{0}")]
    Invalid(String),
    /// A value fits the schema but not the rules.
    #[error("{key}: {reason}")]
    Rule {
        /// The dotted key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl Config {
    /// Loads `file` (if given) under the defaults, then the `TAMGA_…` environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            fig = fig.merge(Toml::file_exact(file));
        }
        fig = fig.merge(
            Env::prefixed("TAMGA_")
                .filter(|k| {
                    let k = k.as_str().to_ascii_lowercase();
                    k.contains("__") || TOP_LEVEL_ENV_KEYS.contains(&k.as_str())
                })
                .split("__"),
        );
        let config: Config = fig.extract().map_err(|e| {
            ConfigError::Invalid(
                e.into_iter()
                    .map(|e| describe(&e))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the rules a schema cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rule = |key, reason: &str| ConfigError::Rule {
            key,
            reason: reason.to_owned(),
        };
        if self.roles.is_empty() {
            return Err(rule("roles", "at least one role is needed"));
        }
        if self.database.max_connections == 0 {
            return Err(rule("database.max_connections", "must be at least 1"));
        }
        if let Some(url) = &self.database.url {
            tamga_store::Backend::of_url(url).map_err(|e| rule("database.url", &e.to_string()))?;
        }
        if self.node.request_timeout_secs == 0 {
            return Err(rule("node.request_timeout_secs", "must be at least 1"));
        }
        if self.keys.backend == KeyBackend::Pkcs11 && self.keys.pkcs11.is_none() {
            return Err(rule(
                "keys.pkcs11",
                "a [keys.pkcs11] section (module, token_label) is required when keys.backend = \"pkcs11\"",
            ));
        }
        if let Some(url) = &self.trust.base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(rule(
                "trust.base_url",
                "must start with http:// or https://",
            ));
        }
        if self.node.name.trim().is_empty() {
            return Err(rule("node.name", "must not be empty"));
        }
        if self.roles.contains(&Role::Archive) {
            if !self.ledger.logs.contains(&self.archive.log) || !self.roles.contains(&Role::Ledger)
            {
                return Err(rule(
                    "archive.log",
                    "the archive needs the ledger role and this log among ledger.logs",
                ));
            }
            if self.archive.seal_interval_secs == 0 || self.archive.renew_horizon_days < 1 {
                return Err(rule(
                    "archive.seal_interval_secs",
                    "sealing needs an interval of at least 1 s and renewal a horizon of at least 1 day",
                ));
            }
            if self.archive.tsa_url.is_none() && !self.roles.contains(&Role::Trust) {
                return Err(rule(
                    "archive.tsa_url",
                    "without the trust role the archive needs a time-stamp authority URL",
                ));
            }
            if self.archive.anchors.is_empty() && !self.roles.contains(&Role::Trust) {
                return Err(rule(
                    "archive.anchors",
                    "without the trust role the archive needs trust anchors for its time-stamp authority",
                ));
            }
        }
        if self.roles.contains(&Role::Notary)
            && (!self.ledger.logs.contains(&self.notary.log)
                || !self.roles.contains(&Role::Ledger)
                || !self.roles.contains(&Role::Trust))
        {
            return Err(rule(
                "notary.log",
                "e-Notary needs the ledger role with this log among ledger.logs, and the trust role",
            ));
        }
        if self.registry.validity_secs < 10 {
            return Err(rule("registry.validity_secs", "must be at least 10"));
        }
        for g in &self.gateways {
            if tamga_exchange::id::ClientId::parse(&g.member)
                .map(|c| c.subsystem.is_some())
                .unwrap_or(true)
            {
                return Err(rule("gateways.member", "must be INSTANCE/CLASS/MEMBER"));
            }
            if g.timeout_secs == 0 || g.signature_lifetime_secs < 5 {
                return Err(rule(
                    "gateways.timeout_secs",
                    "timeout must be at least 1 s and signature lifetime at least 5 s",
                ));
            }
        }
        Ok(())
    }

    /// The database URL, defaulting to SQLite in the data dir.
    pub fn database_url(&self) -> String {
        self.database.url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tamga.db").display()
            )
        })
    }
}

/// One figment error as a line naming the key and where its value came from.
fn describe(e: &figment::Error) -> String {
    let key = if e.path.is_empty() {
        String::new()
    } else {
        format!("{}: ", e.path.join("."))
    };
    let source = e
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(s) => format!(" (in {s})"),
            None => format!(" (in {})", m.name),
        })
        .unwrap_or_default();
    format!("{key}{}{source}", e.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(toml: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tamga.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(Some(&path))
    }

    #[test]
    fn defaults_are_valid() {
        let c = load_str("").unwrap();
        assert_eq!(c.roles, vec![Role::Node]);
        assert!(c.database_url().starts_with("sqlite://"));
    }

    #[test]
    fn a_full_file_loads() {
        let c = load_str(
            r#"
            data_dir = "/var/lib/tamga"
            roles = ["node"]
            [node]
            name = "khur-gateway-1"
            listen = "0.0.0.0:8443"
            [database]
            url = "postgres://tamga@db/tamga"
            [keys]
            backend = "pkcs11"
            node_key_algorithm = "ec-p384"
            [keys.pkcs11]
            module = "/usr/lib/softhsm/libsofthsm2.so"
            token_label = "agency"
            "#,
        )
        .unwrap();
        assert_eq!(c.node.listen.port(), 8443);
        assert_eq!(c.keys.node_key_algorithm, KeyAlgorithm::EcP384);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = load_str("[node]\nlisen = \"0.0.0.0:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("node.lisen") || err.contains("lisen"), "{err}");
        assert!(err.contains("unknown field"), "{err}");
        let err = load_str("colour = 1\n").unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = load_str("[node]\nlisten = \"not an address\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("node.listen"), "{err}");
        let err = load_str("[keys]\nnode_key_algorithm = \"dsa-1024\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("keys.node_key_algorithm") && err.contains("ec-p256"),
            "{err}"
        );
        let err = load_str("roles = [\"node\", \"printer\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("roles"), "{err}");
        let err = load_str("[database]\nurl = \"mysql://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("database.url"), "{err}");
        let err = load_str("[keys]\nbackend = \"pkcs11\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("keys.pkcs11"), "{err}");
    }

    #[test]
    fn missing_file_is_named() {
        let err = Config::load(Some(Path::new("/no/such/tamga.toml")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/no/such/tamga.toml"), "{err}");
    }
}
