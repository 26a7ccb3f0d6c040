//! Wiring of the `registry` and `gateway` roles: the registry with its signing key and admin
//! token, and each configured gateway with its certificates (PKCS#12), message log, ledger and
//! TSA (in this node, or remote over HTTP), configuration poller and its two listeners.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use tamga_exchange::gateway::{Gateway, GatewayParts, GatewaySettings};
use tamga_exchange::id::ClientId;
use tamga_exchange::messagelog::{BoxFut, LedgerSink, LogOptions, MessageLog, Timestamper};
use tamga_exchange::registry::Registry;
use tamga_exchange::remote::{self, ConfSource, HttpLedger, HttpTsa};
use tamga_exchange::revocation::Revocation;
use tamga_exchange::tls::{self, ConfHandle, TlsIdentity};
use tamga_http::{NodeBuilder, ReadinessCheck};
use tamga_keys::{KeyAlgorithm, KeyStore, Signer, SoftwareSigner};
use tamga_ledger::log::Log;
use tamga_store::Store;
use tamga_trust::TrustServices;

use crate::config::{Config, GatewayConfig, Role};
use crate::secrets::read_secret;

/// The ledger of this node, as a sink for gateways.
pub struct LocalLedger(pub HashMap<String, Arc<Log>>);

impl LedgerSink for LocalLedger {
    fn append<'a>(
        &'a self,
        log: &'a str,
        entries: Vec<Vec<u8>>,
    ) -> BoxFut<'a, Result<Vec<u64>, String>> {
        Box::pin(async move {
            let l = self
                .0
                .get(log)
                .ok_or(format!("this node has no {log} log"))?;
            l.append_many(entries).await.map_err(|e| e.to_string())
        })
    }

    fn receipt<'a>(
        &'a self,
        log: &'a str,
        index: u64,
    ) -> BoxFut<'a, Result<tamga_ledger::receipt::Receipt, String>> {
        Box::pin(async move {
            let l = self
                .0
                .get(log)
                .ok_or(format!("this node has no {log} log"))?;
            l.receipt(index).await.map_err(|e| e.to_string())
        })
    }
}

/// The TSA of this node, as a time-stamper for gateways.
pub struct LocalTsa(pub Arc<TrustServices>);

impl Timestamper for LocalTsa {
    fn timestamp<'a>(&'a self, digest: [u8; 32]) -> BoxFut<'a, Result<Vec<u8>, String>> {
        Box::pin(async move {
            let req = tamga_tsa::build_request_for_digest(&digest, None, true)
                .map_err(|e| e.to_string())?;
            let trust = Arc::clone(&self.0);
            let resp = tokio::task::spawn_blocking(move || trust.timestamp(&req))
                .await
                .map_err(|e| e.to_string())?;
            tamga_tsa::token_from_response(&resp).map_err(|e| e.to_string())
        })
    }
}

/// A gateway that runs.
#[derive(Clone)]
pub struct RunningGateway {
    /// Its member.
    pub member: String,
    /// The gateway.
    pub gateway: Arc<Gateway>,
    /// Consumer side (internal HTTP).
    pub client_addr: SocketAddr,
    /// Provider side (mutual TLS).
    pub gateway_addr: SocketAddr,
}

/// Gateways of this node, shared with `/readyz`.
pub type Gateways = Arc<Mutex<Vec<RunningGateway>>>;

/// Opens the registry (when the role runs) and adds its routes.
pub async fn wire_registry(
    config: &Config,
    store: &Store,
    keys: &Arc<dyn KeyStore>,
    builder: &mut NodeBuilder,
) -> anyhow::Result<Option<Arc<Registry>>> {
    if !config.roles.contains(&Role::Registry) {
        return Ok(None);
    }
    let key = {
        let keys = Arc::clone(keys);
        let label = config.registry.key_label.clone();
        tokio::task::spawn_blocking(move || keys.open_or_generate(&label, KeyAlgorithm::EcP256))
            .await
            .context("key store task")??
    };
    let registry = Arc::new(
        Registry::open(
            store.clone(),
            key,
            &config.registry.instance,
            config.registry.validity_secs,
        )
        .await
        .context("exchange registry")?,
    );
    let token = match (
        &config.registry.admin_token_file,
        std::env::var_os("TAMGA_REGISTRY_TOKEN"),
    ) {
        (None, None) => None,
        (file, _) => Some(
            read_secret(
                file.as_deref(),
                "TAMGA_REGISTRY_TOKEN",
                "registry admin token",
            )?
            .to_string(),
        ),
    };
    let (routes, api) = tamga_exchange::http::registry_routes(Arc::clone(&registry), token);
    let b = std::mem::replace(
        builder,
        NodeBuilder::new("Tamga", env!("CARGO_PKG_VERSION")),
    );
    *builder = b.merge(routes, api);
    Ok(Some(registry))
}

/// A `/readyz` check over the node's gateways.
pub fn readiness(gateways: Gateways) -> ReadinessCheck {
    ReadinessCheck::new("exchange-gateways", move || {
        let gws = gateways.lock().unwrap_or_else(|p| p.into_inner()).clone();
        async move {
            let mut errors = Vec::new();
            for g in gws {
                if let Err((code, m)) = g.gateway.ready() {
                    errors.push(format!("{}: {code}: {m}", g.member));
                }
            }
            if errors.is_empty() {
                Ok(())
            } else {
                Err(errors.join("; "))
            }
        }
    })
}

/// Reads a PKCS#12 file: (certificate chain with the key's certificate first, PKCS#8 key).
pub(crate) fn read_p12(path: &std::path::Path, password: &str) -> anyhow::Result<TlsIdentity> {
    let der = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let c = tamga_keys::read_pkcs12(&der, password).with_context(|| path.display().to_string())?;
    let signer = SoftwareSigner::from_pkcs8("p12", &c.key_pkcs8)
        .with_context(|| format!("{}: key", path.display()))?;
    let mut chain = c.certificates;
    let pos = chain
        .iter()
        .position(|d| {
            tamga_pki::ParsedCert::from_der(d).is_ok_and(|p| p.spki_der == signer.public_key_der())
        })
        .ok_or_else(|| anyhow!("{}: no certificate for its key", path.display()))?;
    let leaf = chain.remove(pos);
    chain.insert(0, leaf);
    Ok(TlsIdentity {
        chain,
        key_pkcs8: c.key_pkcs8,
    })
}

/// Reads a SubjectPublicKeyInfo PEM file.
pub fn read_spki_pem(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (label, der) = der::pem::decode_vec(text.as_bytes())
        .map_err(|e| anyhow!("{}: not PEM: {e}", path.display()))?;
    if label != "PUBLIC KEY" {
        bail!("{}: expected a PUBLIC KEY, found {label}", path.display());
    }
    Ok(der)
}

/// Where a gateway's dependencies are.
pub struct GatewayDeps {
    /// The store (message log).
    pub store: Store,
    /// The ledger.
    pub ledger: Arc<dyn LedgerSink>,
    /// The TSA.
    pub tsa: Arc<dyn Timestamper>,
    /// The configuration source.
    pub conf: ConfSource,
    /// The registry key (DER SPKI).
    pub registry_key: Vec<u8>,
}

/// Starts one gateway: both listeners, the message log, the configuration poller.
pub async fn start_gateway(
    cfg: &GatewayConfig,
    deps: GatewayDeps,
    p12_password: &str,
) -> anyhow::Result<RunningGateway> {
    let member = ClientId::parse(&cfg.member).map_err(|e| anyhow!("gateways.member: {e}"))?;
    let server_id = read_p12(&cfg.tls_server_p12, p12_password)?;
    let client_id = read_p12(&cfg.tls_client_p12, p12_password)?;
    let sign_id = read_p12(&cfg.signing_p12, p12_password)?;
    let signer: Arc<dyn Signer> = Arc::new(
        SoftwareSigner::from_pkcs8("gateway-seal", &sign_id.key_pkcs8).context("signing key")?,
    );
    let conf = ConfHandle::default();
    if let Err(e) = remote::refresh(&deps.conf, &deps.registry_key, &member.instance, &conf).await {
        tracing::warn!(member = %member, error = %e, "no global configuration yet; the gateway is not ready until it has one");
    }
    remote::spawn_poller(
        Arc::clone(&deps.conf),
        deps.registry_key.clone(),
        member.instance.clone(),
        conf.clone(),
        Duration::from_secs(cfg.conf_poll_secs.max(1)),
    );
    let log = MessageLog::open(
        deps.store.clone(),
        &cfg.member,
        Arc::clone(&deps.ledger),
        Arc::clone(&deps.tsa),
        LogOptions {
            grace: Duration::from_secs(cfg.accountability_grace_secs),
            interval: Duration::from_millis(cfg.batch_interval_ms.max(10)),
            ..LogOptions::default()
        },
    )
    .await
    .context("message log")?;
    let client_tls = tls::client_config(conf.clone(), &client_id)
        .map_err(|e| anyhow!("TLS client configuration: {e}"))?;
    let server_tls = tls::server_config(conf.clone(), &server_id)
        .map_err(|e| anyhow!("TLS server configuration: {e}"))?;
    let gateway = Gateway::new(GatewayParts {
        settings: GatewaySettings {
            member: member.clone(),
            backends: cfg.backends.clone().into_iter().collect(),
            log_bodies: cfg.log_bodies,
            timeout: Duration::from_secs(cfg.timeout_secs),
            signature_lifetime: cfg.signature_lifetime_secs,
            clock_skew: cfg.clock_skew_secs,
        },
        signer,
        signing_certificate: sign_id.chain[0].clone(),
        conf,
        tls: client_tls,
        log,
        revocation: Arc::new(Revocation::new(cfg.ocsp_cache_secs)),
        ledger: Arc::clone(&deps.ledger),
    });
    let provider = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("gateway {}: cannot listen on {}", cfg.member, cfg.listen))?;
    let consumer = tokio::net::TcpListener::bind(cfg.client_listen)
        .await
        .with_context(|| {
            format!(
                "gateway {}: cannot listen on {}",
                cfg.member, cfg.client_listen
            )
        })?;
    let gateway_addr = provider.local_addr()?;
    let client_addr = consumer.local_addr()?;
    tokio::spawn(tls::serve(
        provider,
        Arc::new(server_tls),
        tamga_exchange::gateway::provider_routes(Arc::clone(&gateway)),
        std::future::pending(),
    ));
    let routes = tamga_exchange::gateway::consumer_routes(Arc::clone(&gateway));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(consumer, routes).await {
            tracing::error!(error = %e, "gateway consumer side stopped");
        }
    });
    tracing::info!(member = %cfg.member, provider = %gateway_addr, consumer = %client_addr, "gateway started");
    Ok(RunningGateway {
        member: cfg.member.clone(),
        gateway,
        client_addr,
        gateway_addr,
    })
}

/// The configuration source for a gateway: this node's registry, else the configured URL.
pub fn conf_source(registry: Option<&Arc<Registry>>, url: &str) -> ConfSource {
    match registry {
        Some(r) => {
            let r = Arc::clone(r);
            Arc::new(move || {
                let r = Arc::clone(&r);
                Box::pin(async move {
                    r.signed_conf()
                        .map(|j| j.as_ref().clone())
                        .map_err(|e| e.to_string())
                })
            })
        }
        None => remote::http_conf_source(url),
    }
}

/// Starts the `[[gateways]]` of the configuration.
pub async fn start_configured(
    config: &Config,
    store: &Store,
    registry: Option<&Arc<Registry>>,
    logs: &[Arc<Log>],
    trust: Option<&Arc<TrustServices>>,
    gateways: &Gateways,
) -> anyhow::Result<()> {
    if !config.roles.contains(&Role::Gateway) {
        return Ok(());
    }
    if config.gateways.is_empty() {
        bail!("role gateway needs at least one [[gateways]] section");
    }
    for g in &config.gateways {
        let ledger: Arc<dyn LedgerSink> = match &g.ledger_url {
            Some(url) => {
                let token = read_secret(
                    g.ledger_token_file.as_deref(),
                    "TAMGA_LEDGER_TOKEN",
                    "ledger append token",
                )?;
                Arc::new(HttpLedger::new(url, &token))
            }
            None if !logs.is_empty() => Arc::new(LocalLedger(
                logs.iter()
                    .map(|l| (l.name().to_owned(), Arc::clone(l)))
                    .collect(),
            )),
            None => bail!(
                "gateway {}: set ledger_url (this node runs no ledger)",
                g.member
            ),
        };
        let tsa: Arc<dyn Timestamper> = match (&g.tsa_url, trust) {
            (Some(url), _) => Arc::new(HttpTsa::new(url)),
            (None, Some(t)) if t.has_tsa() => Arc::new(LocalTsa(Arc::clone(t))),
            _ => bail!("gateway {}: set tsa_url (this node runs no TSA)", g.member),
        };
        let password = read_secret(
            g.p12_password_file.as_deref(),
            "TAMGA_P12_PASSWORD",
            "PKCS#12 password",
        )?;
        let running = start_gateway(
            g,
            GatewayDeps {
                store: store.clone(),
                ledger,
                tsa,
                conf: conf_source(registry, &g.registry_url),
                registry_key: read_spki_pem(&g.registry_key_file)?,
            },
            &password,
        )
        .await?;
        gateways
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(running);
    }
    Ok(())
}
