//! `tamga demo`: every role that exists, on an embedded SQLite data dir, with a manifest.
//!
//! The data dir is reused on the next start (same database, same keys, same passphrase), so the
//! demo is idempotent. `<data>/demo.json` lists every endpoint and every identity or file the
//! demo created, for people and for scripts; later roles add their entries to it.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;

use crate::config::{Config, NodeConfig, Role};
use crate::startup::{self, Started};

const PASSPHRASE_FILE: &str = "secrets/key-passphrase";

pub async fn run(data: PathBuf, bind: IpAddr, port: u16) -> anyhow::Result<()> {
    let existed = data.exists();
    let result = run_inner(&data, bind, port).await;
    if result.is_err() && !existed {
        // A failed first start leaves nothing behind.
        let _ = std::fs::remove_dir_all(&data);
    }
    result
}

async fn run_inner(data: &Path, bind: IpAddr, port: u16) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(data)
        .with_context(|| format!("cannot create data dir {}", data.display()))?;
    let passphrase_file = ensure_demo_passphrase(data)?;
    let mut config = Config {
        data_dir: data.to_owned(),
        // Gateways are started by the demo itself, once the PKI has issued their certificates.
        roles: Role::ALL
            .iter()
            .copied()
            .filter(|r| *r != Role::Gateway)
            .collect(),
        node: NodeConfig {
            name: "tamga-demo".into(),
            listen: SocketAddr::new(bind, port),
            ..NodeConfig::default()
        },
        ..Config::default()
    };
    config.keys.passphrase_file = Some(passphrase_file);
    config.trust.admin_token_file = Some(ensure_secret_file(data, "secrets/admin-token")?);
    // The ledger: four logs witnessed by two witnesses this node also runs.
    config.ledger.append_token_file = Some(ensure_secret_file(data, "secrets/ledger-token")?);
    config.ledger.local_witnesses = true;
    config.registry.admin_token_file = Some(ensure_secret_file(data, "secrets/registry-token")?);
    config.identity.admin_token_file = Some(ensure_secret_file(data, "secrets/id-admin-token")?);
    config.archive.token_file = Some(ensure_secret_file(data, "secrets/archive-token")?);
    config.notary.token_file = Some(ensure_secret_file(data, "secrets/notary-token")?);
    config.notary.notaries = vec![crate::demo_notary::DEMO_NOTARY.into()];
    // Passkeys need a host name; browsers resolve localhost to this machine.
    if bind.is_loopback() {
        config.identity.issuer_host = Some("localhost".into());
    }
    // Tests shorten the configuration's validity to watch gateways refuse an expired one.
    if let Some(v) = std::env::var("TAMGA_REGISTRY__VALIDITY_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.registry.validity_secs = v;
    }
    // Notifications: the demo sends e-mail only when told where (tests run a local sink).
    if let Ok(relay) = std::env::var("TAMGA_PORTAL__SMTP_RELAY") {
        config.portal.smtp_relay = Some(relay);
    }
    if let Ok(from) = std::env::var("TAMGA_PORTAL__SMTP_FROM") {
        config.portal.smtp_from = from;
    }
    // A stable origin: the demo's port changes from run to run, its logs' identity must not.
    config.ledger.origin_prefix = Some("ledger.tamga-demo.mn".into());
    config.witness = crate::config::WitnessConfig {
        witnesses: ["w1", "w2"]
            .iter()
            .map(|w| crate::config::LocalWitness {
                path: (*w).into(),
                name: format!("witness.tamga-demo.mn/{w}"),
                key_label: format!("witness-{w}"),
            })
            .collect(),
        logs: vec![],
        local_logs: true,
    };
    config.validate()?;
    startup::init_logging(&config);
    let manifest_path = data.join("demo.json");
    let data_owned = data.to_owned();
    startup::serve(
        config,
        Some(Box::new(move |started: Started| {
            Box::pin(async move {
                let (country, documents) = match &started.trust {
                    Some(trust) => {
                        let country = crate::demo_country::seed(trust, &data_owned).await?;
                        let contract =
                            crate::demo_contract::ensure(trust, &data_owned, &country).await?;
                        (country, json!([contract]))
                    }
                    None => (serde_json::Value::Null, json!([])),
                };
                let exchange = if country.is_null() {
                    serde_json::Value::Null
                } else {
                    crate::demo_exchange::start(&started, &data_owned, &country).await?
                };
                let identity = if country.is_null() {
                    serde_json::Value::Null
                } else {
                    crate::demo_identity::start(&started, &data_owned, &country).await?
                };
                let portal =
                    crate::demo_identity::connect_portal(&started, &exchange, &data_owned, &country)
                        .await?;
                let mut portal = portal;
                if !country.is_null() && portal.is_object() {
                    let apps =
                        crate::demo_portal::connect(&started, &data_owned, &country).await?;
                    portal["applications"] = apps;
                }
                let mut manifest = manifest(&started, country);
                manifest["portal"] = portal;
                manifest["exchange"] = exchange;
                manifest["identity"] = identity;
                let mut documents = documents;
                if let Some(notary) = started.logs.iter().find(|l| l.name() == "notary")
                    && let Some(doc) = documents.get_mut(0)
                {
                    doc["ledger"] = commit_contract(&data_owned, notary).await?;
                }
                manifest["signed_documents"] = documents;
                manifest["archive"] = crate::demo_archive::ensure(&started, &data_owned).await?;
                if !manifest["trust_services"].is_null() {
                    manifest["notary"] = crate::demo_notary::ensure(
                        &started,
                        &data_owned,
                        &manifest["trust_services"],
                    )
                    .await?;
                }
                manifest["ledger"] = json!({
                    "append_token_file": "secrets/ledger-token",
                    "logs": started.logs.iter().map(|l| json!({
                        "name": l.name(),
                        "origin": l.origin(),
                        "vkey": l.verifier().vkey(),
                        "checkpoint": format!("{}/ledger/{}/checkpoint", started.base_url, l.name()),
                        "tiles": format!("{}/ledger/{}/tile/", started.base_url, l.name()),
                    })).collect::<Vec<_>>(),
                    "witnesses": started.witnesses.iter().map(|(name, vkey, url)| json!({
                        "name": name, "vkey": vkey, "add_checkpoint": url,
                    })).collect::<Vec<_>>(),
                });
                write_atomically(
                    &manifest_path,
                    serde_json::to_string_pretty(&manifest)?.as_bytes(),
                )?;
                print_welcome(&started, &manifest_path);
                Ok(())
            })
        })),
    )
    .await
}

/// Logs the signed contract's commitment (SHA-256 of a random salt and the document's
/// SHA-256) in the notary log, once; the salt stays beside the document.
async fn commit_contract(
    data: &Path,
    notary: &tamga_ledger::log::Log,
) -> anyhow::Result<serde_json::Value> {
    let record = data.join("documents/sale-contract.ledger.json");
    if let Ok(text) = std::fs::read_to_string(&record)
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
    {
        return Ok(v);
    }
    let pdf = std::fs::read(data.join("documents/sale-contract.signed.pdf"))?;
    let salt =
        tamga_ledger::commitment::fresh_salt().map_err(|_| anyhow::anyhow!("no randomness"))?;
    let commitment = tamga_ledger::commitment::salted_document(&salt, &pdf).to_vec();
    let index = notary.append(commitment.clone()).await?;
    write_atomically(
        &data.join("documents/sale-contract.salt"),
        hex::encode(salt).as_bytes(),
    )?;
    let v = json!({
        "log": notary.name(),
        "index": index,
        "commitment": hex::encode(&commitment),
        "commitment_rule": "SHA-256(salt || SHA-256(document)); the salt is in documents/sale-contract.salt",
        "prove_command": format!("tamga ledger prove --url <base_url> --log notary --index {index} -o receipt.json"),
    });
    write_atomically(&record, serde_json::to_string_pretty(&v)?.as_bytes())?;
    Ok(v)
}

/// The demo's key passphrase: random on first start, kept 0600 in the data dir. (A production
/// node reads its passphrase from a file the operator provisions, or from an HSM PIN.)
fn ensure_demo_passphrase(data: &Path) -> anyhow::Result<PathBuf> {
    ensure_secret_file(data, PASSPHRASE_FILE)
}

/// A random secret in a 0600 file under the data dir, made on first start and then reused.
fn ensure_secret_file(data: &Path, relative: &str) -> anyhow::Result<PathBuf> {
    let path = data.join(relative);
    if path.exists() {
        return Ok(path);
    }
    let dir = path.parent().unwrap_or(data).to_owned();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let mut secret = [0u8; 24];
    aws_lc_rs::rand::fill(&mut secret).map_err(|_| anyhow::anyhow!("no randomness"))?;
    let text = zeroize::Zeroizing::new(hex::encode(secret));
    write_atomically(&path, text.as_bytes())?;
    Ok(path)
}

pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

fn manifest(s: &Started, country: serde_json::Value) -> serde_json::Value {
    let base = s.base_url.clone();
    json!({
        "tamga_version": env!("CARGO_PKG_VERSION"),
        "generated_at_ms": tamga_store::now_ms(),
        "data_dir": s.data_dir,
        "base_url": base,
        "database": { "backend": s.database_backend, "url": s.database_url },
        "endpoints": {
            "healthz": format!("{base}/healthz"),
            "readyz": format!("{base}/readyz"),
            "metrics": format!("{base}/metrics"),
            "openapi": format!("{base}/openapi.json"),
            "node": format!("{base}/api/v1/node"),
            "node_keys": format!("{base}/api/v1/node/keys"),
            "certificate_authorities": format!("{base}/pki/cas"),
            "trusted_list": format!("{base}/pki/trusted-list"),
            "timestamp_authority": format!("{base}/tsa"),
        },
        "trust_services": country,
        "identities": [{
            "kind": "node-signing-key",
            "label": s.node_key.label(),
            "algorithm": s.node_key.key_algorithm().name(),
            "key_id": s.node_key.key_id(),
            "key_file": format!("keys/{}.key.pem", s.node_key.label()),
        }],
        "files": [
            { "path": PASSPHRASE_FILE, "what": "passphrase of the demo's software keys (demo only; mode 0600)" },
            { "path": "tamga.db", "what": "SQLite database (WAL mode)" },
            { "path": "secrets/admin-token", "what": "bearer token of the /pki/admin API (demo only; mode 0600)" },
        ],
    })
}

fn print_welcome(s: &Started, manifest: &Path) {
    let base = s.base_url.clone();
    println!();
    println!("  Tamga demo is running / Тамга демо ажиллаж байна");
    println!();
    println!("  Node / Зангилаа              {base}/api/v1/node");
    println!("  API description / API тайлбар {base}/openapi.json");
    println!("  Health / Төлөв               {base}/healthz  {base}/readyz");
    println!("  Metrics / Хэмжилт            {base}/metrics");
    println!("  Manifest / Жагсаалт          {}", manifest.display());
    println!(
        "  Node key / Зангилааны түлхүүр {} ({})",
        s.node_key.key_id(),
        s.node_key.key_algorithm()
    );
    if s.trust.is_some() {
        println!("  CAs / Гэрчилгээ олгогчид      {base}/pki/cas");
        println!("  Trusted list / Итгэмжлэгдсэн жагсаалт {base}/pki/trusted-list");
        println!(
            "  Sample holders' key PIN / Жишээ түлхүүрийн PIN: {} (demo only / зөвхөн демо)",
            crate::demo_country::DEMO_PIN
        );
    }
    if let Some(id) = &s.identity {
        println!(
            "  Sign-in (OIDC) / Нэвтрэлт     {}/.well-known/openid-configuration",
            id.issuer()
        );
    }
    if s.portal.is_some() {
        println!("  Portal / Портал               {base}/portal");
        println!("  Who used my data / Миний мэдээлэл {base}/portal/my-data");
        println!(
            "  Apply online / Өргөдөл гаргах {base}/portal/services/voluntary-social-insurance"
        );
        println!("  Back office / Байгууллага     {base}/office");
        println!("  Check a code / Код шалгах     {base}/portal/verify");
    }
    if s.notary.is_some() {
        println!(
            "  e-Notary / Нотариат           {base}/notary/verify/code/<code> (demo.json: notary)"
        );
    }
    if s.archive.is_some() {
        println!(
            "  Archive / Архив               {base}/archive/verify/<code> (demo.json: archive)"
        );
    }
    println!();
    println!("  Ctrl-C stops it / Зогсоохын тулд Ctrl-C дарна уу");
    println!();
}
