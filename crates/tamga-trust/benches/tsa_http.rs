//! Time-stamp authority over HTTP (RFC 3161, `POST /tsa`): freshly signed tokens per second
//! under `wrk` load (every request gets its own serial, genTime and signature), against
//! `/healthz` on the same node in the same run; a sample token is checked by `openssl ts
//! -verify`-equivalent code (tamga-tsa) before the load starts.
//!
//! `cargo bench -p tamga-trust --bench tsa_http` (needs `wrk`: `apt-get install wrk`).

use std::process::Command;
use std::sync::Arc;

use tamga_keys::{KeyAlgorithm, KeyStore, SoftwareKeyStore};
use tamga_store::{Store, StoreOptions};
use tamga_trust::{CaSpec, TrustServices};

fn wrk(url: &str, script: Option<&std::path::Path>) -> Option<(f64, String)> {
    let mut c = Command::new("wrk");
    c.args(["-t2", "-c64", "-d5s", "--latency"]);
    if let Some(s) = script {
        c.arg("-s").arg(s);
    }
    let out = c.arg(url).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().find(|l| l.starts_with("Requests/sec:"))?;
    let non2xx = text.lines().find(|l| l.contains("Non-2xx"));
    assert!(non2xx.is_none(), "errors under load: {text}");
    let p99 = text
        .lines()
        .find(|l| l.trim_start().starts_with("99%"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?")
        .to_string();
    Some((line.split_whitespace().nth(1)?.parse().ok()?, p99))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display()),
            &StoreOptions::default(),
        )
        .await
        .unwrap();
        let keys: Arc<dyn KeyStore> = Arc::new(
            SoftwareKeyStore::open(dir.path().join("keys"), b"pw")
                .unwrap()
                .with_pbkdf2_iterations(1000),
        );
        let node_key = keys.open_or_generate("node", KeyAlgorithm::EcP256).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let trust = Arc::new(
            TrustServices::open(store, Arc::clone(&keys), node_key, &base)
                .await
                .unwrap(),
        );
        let policy = "1.3.6.1.4.1.99999.9".parse().unwrap();
        trust
            .create_ca(
                &CaSpec {
                    name: "root".into(),
                    display_name: "Root".into(),
                    organisation: "Bench".into(),
                    parent: None,
                    key_algorithm: KeyAlgorithm::EcP256,
                    policy,
                    validity_years: 5,
                },
                "bench",
            )
            .await
            .unwrap();
        trust
            .create_ca(
                &CaSpec {
                    name: "ca".into(),
                    display_name: "CA".into(),
                    organisation: "Bench".into(),
                    parent: Some("root".into()),
                    key_algorithm: KeyAlgorithm::EcP256,
                    policy,
                    validity_years: 5,
                },
                "bench",
            )
            .await
            .unwrap();
        trust
            .create_tsa("bench-tsa", "ca", "1.3.6.1.4.1.99999.3.7".parse().unwrap(), "bench")
            .await
            .unwrap();
        let (routes, api) = tamga_trust::http::routes(Arc::clone(&trust), None);
        let node = tamga_http::NodeBuilder::new("bench", "0")
            .merge(routes, api)
            .build()
            .serve(listener)
            .unwrap();
        let handle = node.shutdown_handle();

        let req = tamga_tsa::build_request(b"benchmark document", None, true).unwrap();
        let client = reqwest::Client::new();
        let resp = client
            .post(format!("{base}/tsa"))
            .header("content-type", "application/timestamp-query")
            .body(req.clone())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let token = tamga_tsa::token_from_response(&resp).unwrap();
        tamga_tsa::verify_token(&token, Some(b"benchmark document"), &[], tamga_pki::AlgorithmPolicy::Strict)
            .unwrap();

        // wrk posts the DER request from a Lua script (bytes written as decimal escapes).
        let dir2 = tempfile::tempdir().unwrap();
        let lua = dir2.path().join("tsa.lua");
        let body: String = req.iter().map(|b| format!("\\{b}")).collect();
        std::fs::write(
            &lua,
            format!(
                "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/timestamp-query\"\nwrk.body = \"{body}\"\n"
            ),
        )
        .unwrap();
        let tsa_url = format!("{base}/tsa");
        let health = format!("{base}/healthz");
        let (tsa_rps, health_rps) = tokio::task::spawn_blocking(move || {
            (wrk(&tsa_url, Some(&lua)), wrk(&health, None))
        })
        .await
        .unwrap();
        println!("| measurement | value |");
        println!("|---|---:|");
        match (tsa_rps, health_rps) {
            (Some((t, p99)), Some((h, _))) => {
                println!("| time-stamp tokens/s (wrk -t2 -c64 -d5s, POST /tsa, each freshly signed) | {t:.0} |");
                println!("| token latency p99 under that load | {p99} |");
                println!("| /healthz responses/s (same node, same run) | {h:.0} |");
                println!("| TSA / healthz | {:.2} |", t / h);
            }
            _ => println!("| time-stamp tokens/s | wrk not installed: apt-get install wrk |"),
        }
        handle.trigger();
        let _ = node.wait().await;
    });
}
