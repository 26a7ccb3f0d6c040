//! Wiring of the `archive` role: the archive over the node's store and its ledger log, a
//! time-stamp authority (the node's own or one over HTTP), the archivist API and public
//! verification routes, and the background tasks that seal pending documents and renew
//! evidence records before their time-stamp authority's certificate expires.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use tamga_archive::ers::HashAlg;
use tamga_archive::service::{Archive, Timestamper};
use tamga_http::NodeBuilder;
use tamga_ledger::log::Log;
use tamga_pki::ParsedCert;
use tamga_store::Store;
use tamga_trust::TrustServices;

use crate::config::{Config, Role};
use crate::secrets::read_secret;

/// The node's own time-stamp authority.
struct LocalTsa(Arc<TrustServices>);

/// A time-stamp authority over HTTP (RFC 3161 §3.4).
struct HttpTsa {
    url: String,
    client: reqwest::Client,
}

fn request(alg: HashAlg, digest: &[u8]) -> Result<Vec<u8>, String> {
    tamga_tsa::build_request_with(alg.oid(), digest, None, true).map_err(|e| e.to_string())
}

impl Timestamper for LocalTsa {
    fn stamp<'a>(
        &'a self,
        alg: HashAlg,
        digest: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move {
            let response = self.0.timestamp(&request(alg, digest)?);
            tamga_tsa::token_from_response(&response).map_err(|e| e.to_string())
        })
    }
}

impl Timestamper for HttpTsa {
    fn stamp<'a>(
        &'a self,
        alg: HashAlg,
        digest: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move {
            let response = self
                .client
                .post(&self.url)
                .header("content-type", "application/timestamp-query")
                .body(request(alg, digest)?)
                .send()
                .await
                .map_err(|e| format!("{}: {e}", self.url))?;
            if !response.status().is_success() {
                return Err(format!("{}: HTTP {}", self.url, response.status()));
            }
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            tamga_tsa::token_from_response(&body).map_err(|e| e.to_string())
        })
    }
}

/// Starts the archive when the role is configured; returns it for the demo.
pub async fn wire(
    config: &Config,
    store: &Store,
    logs: &[Arc<Log>],
    trust: Option<&Arc<TrustServices>>,
    base_url: &str,
    builder: &mut NodeBuilder,
) -> anyhow::Result<Option<Arc<Archive>>> {
    if !config.roles.contains(&Role::Archive) {
        return Ok(None);
    }
    let log = logs
        .iter()
        .find(|l| l.name() == config.archive.log)
        .cloned()
        .ok_or_else(|| anyhow!("archive.log {:?} is not a ledger log", config.archive.log))?;
    let tsa: Arc<dyn Timestamper> = match (&config.archive.tsa_url, trust) {
        (Some(url), _) => Arc::new(HttpTsa {
            url: url.clone(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .context("HTTP client")?,
        }),
        (None, Some(t)) => Arc::new(LocalTsa(Arc::clone(t))),
        (None, None) => return Err(anyhow!("archive.tsa_url is needed without the trust role")),
    };
    let mut configured = Vec::new();
    for p in &config.archive.anchors {
        let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        configured.extend(
            ParsedCert::all_from_pem_or_der(&bytes)
                .with_context(|| format!("{} holds no usable certificate", p.display()))?,
        );
    }
    // Configured anchors, else the node's own roots as they are when asked.
    let anchors: tamga_sign::http::AnchorSource = match (configured.is_empty(), trust) {
        (true, Some(t)) => {
            let t = Arc::clone(t);
            Arc::new(move || {
                t.root_certificates()
                    .iter()
                    .filter_map(|d| ParsedCert::from_der(d).ok())
                    .collect()
            })
        }
        _ => Arc::new(move || configured.clone()),
    };
    let token = match (
        &config.archive.token_file,
        std::env::var_os("TAMGA_ARCHIVE_TOKEN"),
    ) {
        (None, None) => None,
        (file, _) => Some(
            read_secret(file.as_deref(), "TAMGA_ARCHIVE_TOKEN", "archivist token")?.to_string(),
        ),
    };
    let archive = Arc::new(Archive::new(store.clone(), log, tsa, anchors));
    let (routes, api) = tamga_archive::http::routes(Arc::new(tamga_archive::http::ArchiveHttp {
        archive: Arc::clone(&archive),
        token,
        base_url: base_url.to_owned(),
    }));
    *builder = std::mem::replace(
        builder,
        NodeBuilder::new("Tamga", env!("CARGO_PKG_VERSION")),
    )
    .merge(routes, api);
    tokio::spawn(care(
        Arc::clone(&archive),
        Duration::from_secs(config.archive.seal_interval_secs),
        config.archive.renew_horizon_days.saturating_mul(86400),
    ));
    Ok(Some(archive))
}

/// Seals pending documents every `interval`; checks renewals hourly. Failures are logged and
/// retried on the next round (a document stays pending, a record stays due).
async fn care(archive: Arc<Archive>, interval: Duration, horizon_secs: i64) {
    let mut last_renewal: Option<std::time::Instant> = None;
    loop {
        tokio::time::sleep(interval).await;
        match archive.seal_pending().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sealed = n, "archive: evidence records built"),
            Err(e) => tracing::warn!(error = %e, "archive: sealing failed, retrying"),
        }
        if last_renewal.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
            last_renewal = Some(std::time::Instant::now());
            match archive.renew_due(horizon_secs).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(renewed = n, "archive: evidence records renewed"),
                Err(e) => tracing::warn!(error = %e, "archive: renewal failed, retrying"),
            }
        }
    }
}
