//! Wiring of the `ledger` and `witness` roles: logs with the node's Ed25519 ledger key, the
//! witnesses this node runs, and the background task that brings each new checkpoint to the
//! witnesses and serves the cosigned version.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tamga_http::NodeBuilder;
use tamga_keys::{KeyAlgorithm, KeyStore};
use tamga_ledger::log::{Log, LogOptions};
use tamga_ledger::note::Verifier;
use tamga_ledger::witness::{Cosigner, Witness, WitnessClient};
use tamga_store::Store;

use crate::config::{Config, Role};
use crate::secrets::read_secret;

/// The checkpoint origin prefix: configured, or the node's host (and port).
fn origin_prefix(config: &Config, base_url: &str) -> String {
    config.ledger.origin_prefix.clone().unwrap_or_else(|| {
        base_url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string()
    })
}

/// Opens the logs and witnesses the roles ask for and adds their routes.
pub async fn wire(
    config: &Config,
    store: &Store,
    keys: &Arc<dyn KeyStore>,
    base_url: &str,
    builder: &mut NodeBuilder,
) -> anyhow::Result<(Vec<Arc<Log>>, Vec<(String, String, String)>)> {
    let mut logs = Vec::new();
    let mut log_keys: Vec<(String, Verifier)> = Vec::new();
    if config.roles.contains(&Role::Ledger) {
        let key = {
            let keys = Arc::clone(keys);
            let label = config.ledger.key_label.clone();
            tokio::task::spawn_blocking(move || {
                keys.open_or_generate(&label, KeyAlgorithm::Ed25519)
            })
            .await
            .context("key store task")??
        };
        let prefix = origin_prefix(config, base_url);
        for name in &config.ledger.logs {
            let origin = format!("{prefix}/{name}");
            let log = Log::open(
                name,
                &origin,
                store.clone(),
                Arc::clone(&key),
                LogOptions {
                    max_batch: config.ledger.max_batch.max(1),
                    max_delay: Duration::from_millis(config.ledger.max_delay_ms),
                },
            )
            .await
            .with_context(|| format!("ledger log {name}"))?;
            log_keys.push((origin, log.verifier().clone()));
            logs.push(log);
        }
    }
    let mut local_witnesses: Vec<(String, String, String)> = Vec::new();
    if config.roles.contains(&Role::Witness) {
        let mut trusted: HashMap<String, Vec<Verifier>> = HashMap::new();
        for l in &config.witness.logs {
            let v = Verifier::from_vkey(&l.vkey)
                .with_context(|| format!("witness.logs vkey for {}", l.origin))?;
            trusted.entry(l.origin.clone()).or_default().push(v);
        }
        if config.witness.local_logs {
            for (origin, v) in &log_keys {
                trusted.entry(origin.clone()).or_default().push(v.clone());
            }
        }
        let mut map = HashMap::new();
        for w in &config.witness.witnesses {
            let key = {
                let keys = Arc::clone(keys);
                let label = w.key_label.clone();
                tokio::task::spawn_blocking(move || {
                    keys.open_or_generate(&label, KeyAlgorithm::Ed25519)
                })
                .await
                .context("key store task")??
            };
            let witness = Witness::new(&w.name, key, trusted.clone(), store.clone())
                .map_err(|e| anyhow::anyhow!("witness {}: {e}", w.name))?;
            local_witnesses.push((
                w.name.clone(),
                witness.verifier().vkey(),
                format!("{base_url}/witness/{}/add-checkpoint", w.path),
            ));
            map.insert(w.path.clone(), Arc::new(witness));
        }
        let (routes, api) = tamga_ledger::http::witness_routes(map);
        *builder = std::mem::replace(
            builder,
            NodeBuilder::new("Tamga", env!("CARGO_PKG_VERSION")),
        )
        .merge(routes, api);
    }
    if !logs.is_empty() {
        let token = match (
            &config.ledger.append_token_file,
            std::env::var_os("TAMGA_LEDGER_TOKEN"),
        ) {
            (None, None) => None,
            (file, _) => Some(
                read_secret(file.as_deref(), "TAMGA_LEDGER_TOKEN", "ledger append token")?
                    .to_string(),
            ),
        };
        let (routes, api) = tamga_ledger::http::routes(logs.clone(), token);
        *builder = std::mem::replace(
            builder,
            NodeBuilder::new("Tamga", env!("CARGO_PKG_VERSION")),
        )
        .merge(routes, api);
        let mut peers = Vec::new();
        for w in &config.ledger.witnesses {
            peers.push(WitnessClient {
                url: w.url.clone(),
                verifier: Verifier::from_vkey(&w.vkey)
                    .with_context(|| format!("ledger.witnesses vkey for {}", w.url))?,
            });
        }
        if config.ledger.local_witnesses {
            for (_, vkey, url) in &local_witnesses {
                peers.push(WitnessClient {
                    url: url.clone(),
                    verifier: Verifier::from_vkey(vkey)?,
                });
            }
        }
        if !peers.is_empty() {
            for log in &logs {
                tokio::spawn(cosign_loop(Arc::clone(log), peers.clone()));
            }
        }
    }
    Ok((logs, local_witnesses))
}

async fn cosign_loop(log: Arc<Log>, witnesses: Vec<WitnessClient>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let post = move |url: &str, body: String| {
        let c = client.clone();
        let url = url.to_string();
        Box::pin(async move {
            let r = c
                .post(&url)
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            Ok((status, r.text().await.map_err(|e| e.to_string())?))
        })
            as std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<(u16, String), String>> + Send>,
            >
    };
    let mut cosigner = Cosigner::default();
    let mut done = u64::MAX;
    // Let the node start listening (its own witnesses answer on it).
    tokio::time::sleep(Duration::from_millis(200)).await;
    loop {
        let size = log.size();
        if size != done && cosigner.round(&log, &witnesses, &post).await > 0 {
            done = size;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
