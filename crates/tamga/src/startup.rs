//! Starting a node from a [`Config`]: data dir, database, keys, roles, listener, shutdown.
//!
//! Every step fails with one error naming its cause. A data dir this start created is removed
//! again if the start fails, so a failed first start leaves nothing half-written behind.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tamga_http::{LogFormat, NodeBuilder, ReadinessCheck};
use tamga_keys::{KeyStore, Pkcs11Config, Pkcs11KeyStore, Signer, SoftwareKeyStore};
use tamga_store::{AuditEvent, AuditLog, Store, StoreOptions};
use tamga_trust::TrustServices;

use crate::config::{Config, KeyBackend, Role};
use crate::roles::node_info::{self, NodeInfo, PublicKey};
use crate::secrets::read_secret;

/// What a started node tells whoever started it (the demo writes it to `demo.json`).
#[derive(Clone)]
pub struct Started {
    /// The node's signing key.
    pub node_key: Arc<dyn Signer>,
    /// The database URL, password redacted.
    pub database_url: String,
    /// `sqlite` or `postgres`.
    pub database_backend: &'static str,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The trust services, when that role runs.
    pub trust: Option<Arc<TrustServices>>,
    /// The node's public base URL.
    pub base_url: String,
    /// The ledger's logs, when that role runs.
    pub logs: Vec<Arc<tamga_ledger::log::Log>>,
    /// The witnesses this node runs: (name, vkey, add-checkpoint URL).
    pub witnesses: Vec<(String, String, String)>,
    /// The exchange registry, when that role runs.
    pub registry: Option<Arc<tamga_exchange::registry::Registry>>,
    /// The exchange gateways this node runs (the demo adds its own).
    pub gateways: crate::exchange_role::Gateways,
    /// The store.
    pub store: Store,
    /// The OpenID provider, when the identity role runs.
    pub identity: Option<Arc<tamga_id::Provider>>,
    /// The portal's citizen accounts (sign-in, data tracker), when the portal role runs.
    pub portal: Option<Arc<tamga_portal::account::Accounts>>,
    /// e-Notary, when that role runs.
    pub notary: Option<Arc<tamga_notary::contracts::Notary>>,
    /// The electronic archive, when that role runs.
    pub archive: Option<Arc<tamga_archive::service::Archive>>,
    /// The portal's applications and back office.
    pub applications: Option<(
        Arc<tamga_portal::applications::Applications>,
        Arc<tamga_portal::office_http::Office>,
    )>,
}

/// Runs once the node listens (the demo seeds its country and writes its manifest here).
pub type OnStarted = Box<
    dyn FnOnce(
            Started,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>
        + Send,
>;

/// Sets up logging from `TAMGA_LOG_FORMAT` / `TAMGA_LOG`, else the config.
pub fn init_logging(config: &Config) {
    let format = std::env::var("TAMGA_LOG_FORMAT")
        .ok()
        .unwrap_or_else(|| config.log.format.clone());
    let format: LogFormat = format.parse().unwrap_or_else(|e: String| {
        eprintln!("warning: {e}; using text logs");
        LogFormat::Text
    });
    let filter = format!("{},sqlx=warn", config.log.level);
    tamga_http::init_logging(format, &filter);
}

/// Opens the configured key store.
pub fn open_key_store(config: &Config) -> anyhow::Result<Arc<dyn KeyStore>> {
    Ok(match config.keys.backend {
        KeyBackend::Software => {
            let passphrase = read_secret(
                config.keys.passphrase_file.as_deref(),
                "TAMGA_KEY_PASSPHRASE",
                "key passphrase",
            )?;
            Arc::new(SoftwareKeyStore::open(
                config.data_dir.join("keys"),
                passphrase.as_bytes(),
            )?)
        }
        KeyBackend::Pkcs11 => {
            let Some(p) = &config.keys.pkcs11 else {
                bail!("keys.pkcs11: missing");
            };
            let pin = read_secret(p.pin_file.as_deref(), "TAMGA_PKCS11_PIN", "PKCS#11 PIN")?;
            Arc::new(Pkcs11KeyStore::open(&Pkcs11Config {
                module: p.module.clone(),
                token_label: p.token_label.clone(),
                pin,
            })?)
        }
    })
}

/// Creates the data dir if needed and proves it writable; returns whether it was created.
fn prepare_data_dir(dir: &Path) -> anyhow::Result<bool> {
    let existed = dir.exists();
    if existed && !dir.is_dir() {
        bail!("data dir {} is not a directory", dir.display());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
        .with_context(|| format!("cannot create data dir {}", dir.display()))?;
    let probe = dir.join(".tamga-write-probe");
    std::fs::write(&probe, b"probe")
        .and_then(|()| std::fs::remove_file(&probe))
        .with_context(|| format!("data dir {} is not writable", dir.display()))?;
    Ok(!existed)
}

/// Runs the node until SIGTERM/SIGINT; `on_started` runs once it listens.
pub async fn serve(config: Config, on_started: Option<OnStarted>) -> anyhow::Result<()> {
    // Before anything starts: a SIGTERM during start-up then stops the node gracefully once it
    // is up, instead of killing it half-way through.
    let signals = tamga_http::shutdown_signal_registered();
    let created = prepare_data_dir(&config.data_dir)?;
    match start(&config).await {
        Ok((node, store, started)) => {
            if let Some(hook) = on_started
                && let Err(e) = hook(started).await
            {
                node.shutdown_handle().trigger();
                let _ = node.wait().await;
                store.close().await;
                return Err(e);
            }
            let handle = node.shutdown_handle();
            tokio::spawn(async move {
                signals.await;
                handle.trigger();
            });
            let result = node.wait().await.context("server");
            tracing::info!("stopped");
            store.close().await;
            result
        }
        Err(e) => {
            if created {
                let _ = std::fs::remove_dir_all(&config.data_dir);
            }
            Err(e)
        }
    }
}

async fn start(config: &Config) -> anyhow::Result<(tamga_http::RunningNode, Store, Started)> {
    let url = config.database_url();
    let store = Store::open(
        &url,
        &StoreOptions {
            max_connections: config.database.max_connections,
            connect_timeout: Duration::from_secs(config.database.connect_timeout_secs),
        },
    )
    .await?;
    let keys = open_key_store(config)?;
    let node_key = {
        let keys = Arc::clone(&keys);
        let label = config.keys.node_key_label.clone();
        let algorithm = config.keys.node_key_algorithm;
        tokio::task::spawn_blocking(move || keys.open_or_generate(&label, algorithm))
            .await
            .context("key store task")??
    };
    let audit = AuditLog::new(store.clone());
    audit
        .record(AuditEvent::now(
            &config.node.name,
            "node.started",
            node_key.label(),
            &format!("{{\"version\":\"{}\"}}", env!("CARGO_PKG_VERSION")),
        ))
        .await?;

    // Bind first: the trust services put this node's URL into the certificates they issue.
    let listener = tokio::net::TcpListener::bind(config.node.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.node.listen))?;
    let local_addr = listener.local_addr().context("listener address")?;
    let base_url = config
        .trust
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{local_addr}"));
    let mut trust = None;
    let mut portal = None;
    let mut applications = None;
    let mut builder = NodeBuilder::new("Tamga", env!("CARGO_PKG_VERSION"))
        .request_timeout(Duration::from_secs(config.node.request_timeout_secs))
        .shutdown_grace(Duration::from_secs(config.node.shutdown_grace_secs));
    let db = store.clone();
    builder = builder.readiness(ReadinessCheck::new("database", move || {
        let db = db.clone();
        async move { db.readiness().await.map_err(|e| e.to_string()) }
    }));
    let key_check = Arc::clone(&node_key);
    builder = builder.readiness(ReadinessCheck::new("node-key", move || {
        let key = Arc::clone(&key_check);
        async move {
            tokio::task::spawn_blocking(move || {
                let alg = key.key_algorithm().default_signature();
                let sig = key.sign(alg, b"tamga readiness probe")?;
                tamga_keys::verify(alg, key.public_key_der(), b"tamga readiness probe", &sig)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
        }
    }));
    for role in &config.roles {
        match role {
            Role::Node => {
                let info = NodeInfo {
                    name: config.node.name.clone(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    roles: config
                        .roles
                        .iter()
                        .map(|r| {
                            serde_json::to_value(r)
                                .ok()
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default()
                        })
                        .collect(),
                    database: store.backend().name().into(),
                    key_store: match config.keys.backend {
                        KeyBackend::Software => "software".into(),
                        KeyBackend::Pkcs11 => "pkcs11".into(),
                    },
                    node_key: PublicKey {
                        label: node_key.label().into(),
                        algorithm: node_key.key_algorithm().name().into(),
                        key_id: node_key.key_id(),
                        public_key_pem: der::pem::encode_string(
                            "PUBLIC KEY",
                            der::pem::LineEnding::LF,
                            node_key.public_key_der(),
                        )
                        .ok(),
                    },
                    started_at_ms: tamga_store::now_ms(),
                };
                let (routes, api) = node_info::role(info, Arc::clone(&keys));
                builder = builder.merge(routes, api);
            }
            Role::Trust => {
                let services = Arc::new(
                    TrustServices::open(
                        store.clone(),
                        Arc::clone(&keys),
                        Arc::clone(&node_key),
                        &base_url,
                    )
                    .await
                    .context("trust services")?,
                );
                let token = match (
                    &config.trust.admin_token_file,
                    std::env::var_os("TAMGA_ADMIN_TOKEN"),
                ) {
                    (None, None) => None,
                    (file, _) => Some(read_secret(
                        file.as_deref(),
                        "TAMGA_ADMIN_TOKEN",
                        "admin token",
                    )?),
                };
                let (routes, api) =
                    tamga_trust::http::routes(Arc::clone(&services), token.map(|t| t.to_string()));
                builder = builder.merge(routes, api);
                // Signature validation against the roots this node's trust services operate.
                let roots = Arc::clone(&services);
                let anchors: tamga_sign::http::AnchorSource = Arc::new(move || {
                    roots
                        .root_certificates()
                        .iter()
                        .filter_map(|d| tamga_pki::ParsedCert::from_der(d).ok())
                        .collect()
                });
                let (routes, api) =
                    tamga_sign::http::routes(anchors, config.trust.max_upload_bytes);
                builder = builder.merge(routes, api);
                trust = Some(services);
            }
            // Wired after the loop: witnesses need the logs' keys, gateways the ledger.
            Role::Portal => {
                let accounts = Arc::new(tamga_portal::account::Accounts::default());
                accounts.set_store(store.clone());
                let (routes, api) = tamga_portal::http::routes(Arc::clone(&accounts));
                builder = builder.merge(routes, api);
                let apps = Arc::new(tamga_portal::applications::Applications::new(Arc::clone(
                    &accounts,
                )));
                apps.set_public_base(&base_url);
                if let Some(relay) = &config.portal.smtp_relay {
                    apps.set_smtp(tamga_portal::notify::SmtpSettings {
                        relay: relay.clone(),
                        from: config.portal.smtp_from.clone(),
                    });
                }
                let office = Arc::new(tamga_portal::office_http::Office {
                    accounts: Arc::new(tamga_portal::account::Accounts::default()),
                    apps: Arc::clone(&apps),
                });
                office.accounts.set_store(store.clone());
                let (apply_routes, apply_api) = tamga_portal::apply_http::routes(Arc::clone(&apps));
                builder = builder.merge(apply_routes, apply_api).merge(
                    tamga_portal::office_http::routes(Arc::clone(&office)),
                    utoipa::openapi::OpenApi::default(),
                );
                applications = Some((apps, office));
                portal = Some(accounts);
            }
            Role::Ledger
            | Role::Witness
            | Role::Registry
            | Role::Gateway
            | Role::Identity
            | Role::Archive
            | Role::Notary => {}
        }
    }
    let (logs, witnesses) =
        crate::ledger_role::wire(config, &store, &keys, &base_url, &mut builder).await?;
    let archive = crate::archive_role::wire(
        config,
        &store,
        &logs,
        trust.as_ref(),
        &base_url,
        &mut builder,
    )
    .await?;
    let notary = crate::notary_role::wire(
        config,
        &store,
        &logs,
        trust.as_ref(),
        portal.as_ref(),
        archive.as_ref(),
        &base_url,
        &mut builder,
    )?;
    let registry = crate::exchange_role::wire_registry(config, &store, &keys, &mut builder).await?;
    let identity =
        crate::identity_role::wire(config, &store, &keys, &base_url, &mut builder).await?;
    let gateways = crate::exchange_role::Gateways::default();
    if config.roles.contains(&Role::Gateway) || config.roles.contains(&Role::Registry) {
        builder = builder
            .readiness(crate::exchange_role::readiness(gateways.clone()))
            .merge(
                axum::Router::new(),
                tamga_exchange::gateway::consumer_openapi(),
            );
    }
    crate::exchange_role::start_configured(
        config,
        &store,
        registry.as_ref(),
        &logs,
        trust.as_ref(),
        &gateways,
    )
    .await?;
    let node = builder.build().serve(listener).context("server")?;
    tracing::info!(
        listen = %node.local_addr(),
        database = store.backend().name(),
        node_key = %node_key.key_id(),
        "node started"
    );
    let started = Started {
        node_key,
        database_url: store.url_redacted().to_owned(),
        database_backend: store.backend().name(),
        data_dir: config.data_dir.clone(),
        trust,
        base_url,
        logs,
        witnesses,
        registry,
        gateways,
        store: store.clone(),
        identity,
        portal,
        applications,
        archive,
        notary,
    };
    Ok((node, store, started))
}
