//! The gateway's clients for the services it depends on when they run elsewhere: the registry
//! (polling the signed global configuration), the ledger (batch appends, receipts) and the
//! RFC 3161 time-stamp authority, all over HTTP.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::globalconf::{self, ConfError, ConfIndex};
use crate::messagelog::{BoxFut, LedgerSink, Timestamper};
use crate::tls::ConfHandle;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(8)
        .build()
        .unwrap_or_default()
}

/// The ledger's HTTP API (`POST /ledger/{log}/entries/batch`, `GET /ledger/{log}/receipt`).
pub struct HttpLedger {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl HttpLedger {
    /// A client for the ledger at `base` appending with bearer `token`.
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: client(),
        }
    }
}

impl LedgerSink for HttpLedger {
    fn append<'a>(
        &'a self,
        log: &'a str,
        entries: Vec<Vec<u8>>,
    ) -> BoxFut<'a, Result<Vec<u64>, String>> {
        Box::pin(async move {
            let body = serde_json::json!({
                "entries": entries.iter().map(|e| STANDARD.encode(e)).collect::<Vec<_>>()
            });
            let r = self
                .http
                .post(format!("{}/ledger/{log}/entries/batch", self.base))
                .bearer_auth(&self.token)
                .json(&body)
                .send()
                .await
                .map_err(|e| format!("ledger unreachable: {e}"))?;
            if !r.status().is_success() {
                return Err(format!(
                    "ledger answered {}: {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                ));
            }
            let v: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
            let idx: Vec<u64> = v["indices"]
                .as_array()
                .map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect())
                .unwrap_or_default();
            if idx.len() != entries.len() {
                return Err("the ledger returned the wrong number of indices".into());
            }
            Ok(idx)
        })
    }

    fn receipt<'a>(
        &'a self,
        log: &'a str,
        index: u64,
    ) -> BoxFut<'a, Result<tamga_ledger::receipt::Receipt, String>> {
        Box::pin(async move {
            let r = self
                .http
                .get(format!("{}/ledger/{log}/receipt?index={index}", self.base))
                .send()
                .await
                .map_err(|e| format!("ledger unreachable: {e}"))?;
            if !r.status().is_success() {
                return Err(format!(
                    "ledger answered {}: {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                ));
            }
            r.json().await.map_err(|e| e.to_string())
        })
    }
}

/// An RFC 3161 TSA over HTTP (`application/timestamp-query`).
pub struct HttpTsa {
    url: String,
    http: reqwest::Client,
}

impl HttpTsa {
    /// A client for the TSA at `url`.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            http: client(),
        }
    }
}

impl Timestamper for HttpTsa {
    fn timestamp<'a>(&'a self, digest: [u8; 32]) -> BoxFut<'a, Result<Vec<u8>, String>> {
        Box::pin(async move {
            let mut nonce = [0u8; 8];
            let _ = aws_lc_rs::rand::fill(&mut nonce);
            nonce[0] &= 0x7f;
            let req = tamga_tsa::build_request_for_digest(&digest, Some(&nonce), true)
                .map_err(|e| e.to_string())?;
            let r = self
                .http
                .post(&self.url)
                .header("content-type", "application/timestamp-query")
                .body(req)
                .send()
                .await
                .map_err(|e| format!("TSA unreachable: {e}"))?;
            if !r.status().is_success() {
                return Err(format!("TSA answered {}", r.status()));
            }
            let body = r.bytes().await.map_err(|e| e.to_string())?;
            let token = tamga_tsa::token_from_response(&body).map_err(|e| e.to_string())?;
            let t = tamga_tsa::verify_token(&token, None, &[], tamga_pki::AlgorithmPolicy::Strict)
                .map_err(|e| format!("TSA token: {e}"))?;
            if t.imprint != digest {
                return Err("the TSA stamped another imprint".into());
            }
            Ok(token)
        })
    }
}

/// Where the signed configuration comes from.
pub type ConfSource = Arc<dyn Fn() -> BoxFut<'static, Result<Vec<u8>, String>> + Send + Sync>;

/// Fetches the signed configuration from `url` over HTTP.
pub fn http_conf_source(url: &str) -> ConfSource {
    let url = url.to_owned();
    let http = client();
    Arc::new(move || {
        let url = url.clone();
        let http = http.clone();
        Box::pin(async move {
            let r = http
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("registry unreachable: {e}"))?;
            if !r.status().is_success() {
                return Err(format!("registry answered {}", r.status()));
            }
            Ok(r.bytes().await.map_err(|e| e.to_string())?.to_vec())
        })
    })
}

/// Fetches, verifies and installs the configuration once; returns its version.
pub async fn refresh(
    source: &ConfSource,
    registry_spki: &[u8],
    instance: &str,
    handle: &ConfHandle,
) -> Result<u64, String> {
    let bytes = source().await?;
    let conf = globalconf::verify(&bytes, registry_spki).map_err(|e| e.to_string())?;
    if conf.instance != instance {
        return Err(ConfError::WrongInstance(conf.instance).to_string());
    }
    if let Some(held) = handle.get() {
        if conf.version < held.conf.version {
            return Err(ConfError::Rollback {
                got: conf.version,
                held: held.conf.version,
            }
            .to_string());
        }
        if conf.version == held.conf.version && conf.issued_at <= held.conf.issued_at {
            return Ok(conf.version);
        }
    }
    let version = conf.version;
    conf_check_fresh(&conf)?;
    handle.set(ConfIndex::new(conf).map_err(|e| e.to_string())?);
    Ok(version)
}

fn conf_check_fresh(conf: &globalconf::GlobalConf) -> Result<(), String> {
    if tamga_store::now_ms() / 1000 >= conf.expires_at {
        return Err(ConfError::Expired {
            version: conf.version,
            expires_at: conf.expires_at,
        }
        .to_string());
    }
    Ok(())
}

/// Polls the configuration every `every` (until the handle's owner goes away).
pub fn spawn_poller(
    source: ConfSource,
    registry_spki: Vec<u8>,
    instance: String,
    handle: ConfHandle,
    every: Duration,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = refresh(&source, &registry_spki, &instance, &handle).await {
                tracing::warn!(error = %e, "global configuration not refreshed");
            }
        }
    });
}
