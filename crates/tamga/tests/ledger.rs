//! The ledger as an operator runs it: `tamga serve` with the ledger and witness roles on
//! SQLite, a client appending at full speed over HTTP, and SIGKILL in the middle — repeatedly.
//! After each restart every acknowledged entry is at its index, every checkpoint seen before
//! is consistent with the new one (so no signed tree was lost), the witnesses keep cosigning,
//! an independent Python client recomputes the root from tiles and bundles, and precise HTTP
//! errors answer bad requests.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tamga_ledger::merkle;
use tamga_ledger::note::{Checkpoint, Note, Verifier};

const TOKEN: &str = "ledger-test-token";

/// (index, entry) pairs the log acknowledged.
type Acked = Vec<(u64, Vec<u8>)>;

fn start(dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args([
            "serve",
            "--config",
            dir.join("tamga.toml").to_str().unwrap(),
        ])
        .env("TAMGA_LOG_FORMAT", "json")
        .env("TAMGA_LOG", "info")
        .env("TAMGA_LEDGER_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if v["message"] == "node started" {
            let listen = v["listen"].as_str().unwrap().to_owned();
            std::thread::spawn(move || for _ in lines {});
            return (child, format!("http://{listen}"));
        }
    }
    panic!("tamga serve did not start: {:?}", child.wait());
}

fn config(dir: &Path, port: u16) {
    let pass = dir.join("passphrase");
    std::fs::write(&pass, "operator secret\n").unwrap();
    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(
        dir.join("tamga.toml"),
        format!(
            "data_dir = \"{}\"\nroles = [\"node\", \"ledger\", \"witness\"]\n[node]\nlisten = \"127.0.0.1:{port}\"\n[keys]\npassphrase_file = \"{}\"\n[ledger]\nlogs = [\"test\"]\norigin_prefix = \"ledger.test.mn\"\nmax_batch = 512\nmax_delay_ms = 5\nlocal_witnesses = true\n[witness]\nlocal_logs = true\nwitnesses = [{{ path = \"w1\", name = \"witness.test.mn/w1\", key_label = \"witness-w1\" }}, {{ path = \"w2\", name = \"witness.test.mn/w2\", key_label = \"witness-w2\" }}]\n",
            dir.join("data").display(),
            pass.display()
        ),
    )
    .unwrap();
}

fn parse_cp(note: &str) -> Checkpoint {
    Checkpoint::parse(&Note::parse(note.as_bytes()).unwrap().text).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_appends_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    config(dir.path(), port);
    let client = reqwest::Client::new();
    let acked: Arc<Mutex<Acked>> = Arc::default();
    let mut seen: Vec<Checkpoint> = Vec::new();
    let mut counter = 0u64;
    for round in 0..3 {
        let (mut child, base) = start(dir.path());
        // Appenders at full speed; checkpoints sampled while they run.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for w in 0..16u64 {
            let (c, base, acked, stop) = (
                client.clone(),
                base.clone(),
                Arc::clone(&acked),
                Arc::clone(&stop),
            );
            let start_at = counter + w * 1_000_000;
            tasks.push(tokio::spawn(async move {
                let mut i = start_at;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = format!("round-{round}-entry-{i}").into_bytes();
                    i += 1;
                    let r = c
                        .post(format!("{base}/ledger/test/entries"))
                        .bearer_auth(TOKEN)
                        .body(body.clone())
                        .send()
                        .await;
                    if let Ok(r) = r
                        && r.status() == 201
                        && let Ok(v) = r.json::<serde_json::Value>().await
                    {
                        acked
                            .lock()
                            .unwrap()
                            .push((v["index"].as_u64().unwrap(), body));
                    }
                }
            }));
        }
        counter += 100_000_000;
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            if let Ok(r) = client
                .get(format!("{base}/ledger/test/checkpoint"))
                .send()
                .await
                && let Ok(t) = r.text().await
            {
                seen.push(parse_cp(&t));
            }
        }
        // SIGKILL mid-stream.
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = child.wait();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let (mut child, base) = start(dir.path());
        let cp = parse_cp(
            &client
                .get(format!("{base}/ledger/test/checkpoint"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        let acked_now = acked.lock().unwrap().clone();
        assert!(!acked_now.is_empty(), "round {round}: nothing was appended");
        let max = acked_now.iter().map(|(i, _)| *i).max().unwrap();
        assert!(
            cp.size > max,
            "round {round}: acknowledged index {max} but size {}",
            cp.size
        );
        // Every acknowledged entry, at its index (read back through the bundles).
        let mut leaves = Vec::new();
        for n in 0..cp.size.div_ceil(256) {
            let width = (cp.size - n * 256).min(256);
            let path = tamga_ledger::http::tile_index_path(n);
            let url = if width == 256 {
                format!("{base}/ledger/test/tile/entries/{path}")
            } else {
                format!("{base}/ledger/test/tile/entries/{path}.p/{width}")
            };
            let b = client.get(url).send().await.unwrap().bytes().await.unwrap();
            let mut pos = 0;
            while pos < b.len() {
                let l = u16::from_be_bytes([b[pos], b[pos + 1]]) as usize;
                leaves.push(b[pos + 2..pos + 2 + l].to_vec());
                pos += 2 + l;
            }
        }
        assert_eq!(leaves.len() as u64, cp.size);
        for (i, body) in &acked_now {
            assert_eq!(
                &leaves[*i as usize], body,
                "round {round}: entry {i} lost or changed"
            );
        }
        // Every checkpoint seen so far is consistent with the new one.
        for old in &seen {
            if old.size == 0 || old.size > cp.size {
                assert!(
                    old.size <= cp.size,
                    "a signed tree of size {} was lost",
                    old.size
                );
                continue;
            }
            let p: serde_json::Value = client
                .get(format!(
                    "{base}/ledger/test/proof/consistency?old={}&size={}",
                    old.size, cp.size
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let proof: Vec<Vec<u8>> = p["proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    base64::engine::general_purpose::STANDARD
                        .decode(h.as_str().unwrap())
                        .unwrap()
                })
                .collect();
            merkle::verify_consistency(old.size, cp.size, &proof, &old.root, &cp.root)
                .unwrap_or_else(|e| {
                    panic!(
                        "round {round}: checkpoint {} inconsistent with {}: {e}",
                        old.size, cp.size
                    )
                });
        }
        seen.push(cp);
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witnesses_cosign_and_bad_requests_get_spec_errors() {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), free_port());
    let (mut child, base) = start(dir.path());
    let c = reqwest::Client::new();
    for i in 0..300 {
        let r = c
            .post(format!("{base}/ledger/test/entries"))
            .bearer_auth(TOKEN)
            .body(format!("commitment {i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    // The served checkpoint gets both witnesses' cosignatures.
    let mut note = String::new();
    for _ in 0..40 {
        note = c
            .get(format!("{base}/ledger/test/checkpoint"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if note.matches('\u{2014}').count() >= 3 && parse_cp(&note).size == 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let n = Note::parse(note.as_bytes()).unwrap();
    let names: Vec<&str> = n.signatures.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"witness.test.mn/w1") && names.contains(&"witness.test.mn/w2"),
        "{note}"
    );
    // Errors: no token 401, oversized 413, bad tile paths 400, beyond the tree 404/400.
    assert_eq!(
        c.post(format!("{base}/ledger/test/entries"))
            .body("x")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.post(format!("{base}/ledger/test/entries"))
            .bearer_auth("wrong")
            .body("x")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.post(format!("{base}/ledger/test/entries"))
            .bearer_auth(TOKEN)
            .body(vec![0u8; 70_000])
            .send()
            .await
            .unwrap()
            .status(),
        413
    );
    for bad in [
        "0/1",
        "00/000",
        "0/000.p/0",
        "0/000.p/256",
        "64/000",
        "0/x1/000",
        "entries/0000",
    ] {
        assert_eq!(
            c.get(format!("{base}/ledger/test/tile/{bad}"))
                .send()
                .await
                .unwrap()
                .status(),
            400,
            "{bad}"
        );
    }
    assert_eq!(
        c.get(format!("{base}/ledger/test/tile/0/005"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        c.get(format!("{base}/ledger/nope/checkpoint"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        c.get(format!(
            "{base}/ledger/test/proof/inclusion?index=300&size=300"
        ))
        .send()
        .await
        .unwrap()
        .status(),
        400
    );
    assert_eq!(
        c.get(format!(
            "{base}/ledger/test/proof/consistency?old=10&size=9999"
        ))
        .send()
        .await
        .unwrap()
        .status(),
        400
    );
    // A witness: unknown log 404, forged signature 403, stale old size 409 with the size,
    // inconsistent history 422.
    let body = |old: u64, cp: &str| format!("old {old}\n\n{cp}");
    let w = format!("{base}/witness/w1/add-checkpoint");
    let foreign = note.replace("ledger.test.mn/test\n", "ledger.other.mn/test\n");
    assert_eq!(
        c.post(&w)
            .body(body(300, &foreign))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let own_only = format!("{}\n{}", n.text, n.signatures[0].line());
    let forged = own_only.replacen("\n300\n", "\n301\n", 1);
    assert_eq!(
        c.post(&w)
            .body(body(300, &forged))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let r = c.post(&w).body(body(5, &own_only)).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["content-type"], "text/x.tlog.size");
    assert_eq!(r.text().await.unwrap().trim(), "300");
    // A fork signed with the log's own key (as a compromised log would): its proof cannot
    // join the witnessed tree, 422; the witness keeps its state.
    let keys = tamga_keys::SoftwareKeyStore::open(dir.path().join("data/keys"), b"operator secret")
        .unwrap();
    let log_key = tamga_keys::KeyStore::open(&keys, "ledger").unwrap();
    let verifier = Verifier::from_vkey(&tamga_vkey(dir.path())).unwrap();
    let fork = tamga_ledger::log::sign_checkpoint(
        &Checkpoint {
            origin: "ledger.test.mn/test".into(),
            size: 301,
            root: [7u8; 32],
            extensions: vec![],
        },
        log_key.as_ref(),
        &verifier,
    )
    .unwrap();
    let p: serde_json::Value = c
        .get(format!(
            "{base}/ledger/test/proof/consistency?old=299&size=300"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut b = String::from("old 300\n");
    for h in p["proof"].as_array().unwrap() {
        b.push_str(h.as_str().unwrap());
        b.push('\n');
    }
    b.push('\n');
    b.push_str(&fork);
    let r = c.post(&w).body(b).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let same = c.post(&w).body(body(300, &own_only)).send().await.unwrap();
    assert_eq!(same.status(), 200, "the witness still stands at 300");
    // The independent Python client recomputes the root from tiles and bundles.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/tlog_verify.py");
    let vkey = tamga_vkey(dir.path());
    let out = Command::new("python3")
        .arg(script)
        .args([&base, "test", &vkey])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(line.starts_with("ok 300 "), "{line}");
    assert!(
        line.trim()
            .ends_with(&base64::engine::general_purpose::STANDARD.encode(parse_cp(&note).root))
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// The log's vkey, from its public key file in the data directory.
fn tamga_vkey(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("data/keys/ledger.key.pem")).unwrap();
    let (spki, _) = tamga_keys::parse_key_file(&text).unwrap();
    let pk: [u8; 32] = spki[spki.len() - 32..].try_into().unwrap();
    Verifier::new("ledger.test.mn/test", tamga_ledger::note::TYPE_ED25519, pk)
        .unwrap()
        .vkey()
}
