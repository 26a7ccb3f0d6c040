//! OCSP responder over HTTP: cached responses per second under `wrk` load (RFC 6960 GET form,
//! no nonce, so the pre-produced response is served), against `/healthz` on the same node in the
//! same run; and the latency of freshly signed responses (POST with a nonce, one at a time).
//!
//! `cargo bench -p tamga-trust --bench ocsp_http` (needs `wrk`: `apt-get install wrk`).

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use tamga_keys::{KeyAlgorithm, KeyStore, SoftwareKeyStore};
use tamga_pki::ParsedCert;
use tamga_pki::issue::{NameBuilder, Profile};
use tamga_store::{Store, StoreOptions};
use tamga_trust::{CaSpec, IssueSpec, TrustServices};

fn wrk(url: &str) -> Option<f64> {
    let out = Command::new("wrk")
        .args(["-t2", "-c64", "-d5s", "--latency", url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().find(|l| l.starts_with("Requests/sec:"))?;
    let non2xx = text.lines().find(|l| l.contains("Non-2xx"));
    assert!(non2xx.is_none(), "errors under load: {text}");
    line.split_whitespace().nth(1)?.parse().ok()
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
        let leaf_key = keys.open_or_generate("leaf", KeyAlgorithm::EcP256).unwrap();
        let (leaf_der, _) = trust
            .issue(
                "ca",
                IssueSpec {
                    profile: Profile::TlsClient,
                    subject: NameBuilder::new().common_name("leaf").unwrap().build(),
                    spki_der: leaf_key.public_key_der().to_vec(),
                    alt_names: vec![],
                    validity_days: 30,
                },
                "bench",
                "bench",
            )
            .await
            .unwrap();
        let ca = ParsedCert::from_der(&trust.ca_certificate("ca").unwrap()).unwrap();
        let leaf = ParsedCert::from_der(&leaf_der).unwrap();
        let (routes, api) = tamga_trust::http::routes(Arc::clone(&trust), None);
        let node = tamga_http::NodeBuilder::new("bench", "0")
            .merge(routes, api)
            .build()
            .serve(listener)
            .unwrap();
        let handle = node.shutdown_handle();

        let req = tamga_pki::ocsp::build_request(&ca, leaf.serial(), None).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(&req)
            .replace('/', "%2F")
            .replace('+', "%2B")
            .replace('=', "%3D");
        let ocsp_url = format!("{base}/pki/ca/ocsp/{b64}");
        let client = reqwest::Client::new();
        assert!(
            client
                .get(&ocsp_url)
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );

        // Fresh signatures: a nonce defeats the cache, so every answer is looked up and signed.
        let mut lat = Vec::with_capacity(2000);
        for i in 0..2000u32 {
            let body =
                tamga_pki::ocsp::build_request(&ca, leaf.serial(), Some(&i.to_be_bytes())).unwrap();
            let t = Instant::now();
            let r = client
                .post(format!("{base}/pki/ca/ocsp"))
                .body(body)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(r.len() > 100);
        }
        lat.sort_by(f64::total_cmp);
        let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q) as usize];

        let (ocsp_rps, health_rps) =
            tokio::task::spawn_blocking(move || (wrk(&ocsp_url), wrk(&format!("{base}/healthz"))))
                .await
                .unwrap();
        println!("| measurement | value |");
        println!("|---|---:|");
        match (ocsp_rps, health_rps) {
            (Some(o), Some(h)) => {
                println!("| cached OCSP responses/s (wrk -t2 -c64 -d5s, GET) | {o:.0} |");
                println!("| /healthz responses/s (same node, same run) | {h:.0} |");
                println!("| OCSP / healthz | {:.2} |", o / h);
            }
            _ => println!("| cached OCSP responses/s | wrk not installed: apt-get install wrk |"),
        }
        println!(
            "| fresh signed response latency p50 (ms, POST + nonce, sequential) | {:.3} |",
            p(0.5)
        );
        println!(
            "| fresh signed response latency p99 (ms) | {:.3} |",
            p(0.99)
        );
        handle.trigger();
        let _ = node.wait().await;
    });
}
