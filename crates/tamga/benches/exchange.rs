//! Exchange round trips under load: `wrk` → consumer gateway → provider gateway → backend,
//! with everything on (RFC 9421 signatures both ways and their verification, mutual TLS with
//! keep-alive, OCSP-checked peers, message log on both sides, time-stamped batches and ledger
//! commitments), against a plain two-hop nginx reverse-proxy chain (keep-alive, no signing) to
//! the same backend, and the backend alone, in the same run with the same load generator.
//!
//! `cargo bench -p tamga --bench exchange` (needs `wrk` and `nginx`: `apt-get install wrk
//! nginx-light`). `TAMGA_BENCH_SECONDS` sets the length of each run (default 15).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Run {
    rps: f64,
    p50: String,
    p99: String,
    errors: String,
}

fn ms(s: &str) -> f64 {
    let (n, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((s, "ms"), |i| (&s[..i], &s[i..]));
    let v: f64 = n.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => v / 1000.0,
        "s" => v * 1000.0,
        _ => v,
    }
}

fn wrk(url: &str, connections: u32, secs: u64, headers: &[(&str, &str)]) -> Run {
    let mut c = Command::new("wrk");
    c.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{secs}s"),
        "--latency",
    ]);
    for (k, v) in headers {
        c.args(["-H", &format!("{k}: {v}")]);
    }
    let out = c.arg(url).output().expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let find = |p: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(p))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_owned()
    };
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .collect::<Vec<_>>()
        .join("; ");
    Run {
        rps,
        p50: find("50%"),
        p99: find("99%"),
        errors,
    }
}

fn nginx(dir: &Path, backend: &str) -> (Proc, u16) {
    let front = free_port();
    let middle = free_port();
    let conf = format!(
        r#"worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    upstream middle {{ server 127.0.0.1:{middle}; keepalive 256; }}
    upstream backend {{ server {backend}; keepalive 256; }}
    server {{
        listen 127.0.0.1:{front};
        location / {{ proxy_pass http://middle; proxy_http_version 1.1; proxy_set_header Connection ""; }}
    }}
    server {{
        listen 127.0.0.1:{middle};
        location / {{ proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }}
    }}
}}
"#,
        dir = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("nginx")
        .args([
            "-c",
            path.to_str().unwrap(),
            "-g",
            "daemon off;",
            "-e",
            dir.join("nginx-error.log").to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx (apt-get install nginx-light)");
    std::thread::sleep(Duration::from_millis(500));
    (Proc(child), front)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn main() {
    let secs: u64 = std::env::var("TAMGA_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let _demo = Proc(
        Command::new(env!("CARGO_BIN_EXE_tamga"))
            .args(["demo", "--data", data.to_str().unwrap(), "--port", "0"])
            .env("TAMGA_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    let manifest: serde_json::Value = loop {
        if let Ok(t) = std::fs::read_to_string(data.join("demo.json"))
            && let Ok(v) = serde_json::from_str(&t)
        {
            break v;
        }
        assert!(Instant::now() < deadline, "demo did not start");
        std::thread::sleep(Duration::from_millis(200));
    };
    let ex = &manifest["exchange"];
    let backend = ex["backends"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_owned();
    let consumer = |member: &str| {
        ex["gateways"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["member"] == member)
            .unwrap()["consumer"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let tax = consumer("MN/GOV/9000002");
    let (_nginx, front) = nginx(dir.path(), &backend);
    let direct = format!("http://{backend}/court/cases/2026-17");
    let chain = format!("http://127.0.0.1:{front}/court/cases/2026-17");
    let gw = format!("{tax}/r1/MN/GOV/9000005/court-cases/caseStatus/2026-17");
    let citizen = manifest["trust_services"]["citizens"][0]["registration_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let pct = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let personal_url = format!(
        "{tax}/r1/MN/GOV/9000001/civil-registry/WS100101_getCitizenIDCardInfo/{}",
        pct(&citizen)
    );
    let client = [("X-Road-Client", "MN/GOV/9000002/tax")];
    let subject = pct(&citizen);
    let personal = [
        ("X-Road-Client", "MN/GOV/9000002/tax"),
        ("X-Tamga-Data-Subject", subject.as_str()),
        ("X-Tamga-Purpose", "benchmark"),
        ("X-Tamga-Legal-Basis", "benchmark"),
    ];
    // Warm-up (connections, OCSP caches), then the measured runs.
    let _ = wrk(&gw, 16, 2, &client);
    let _ = wrk(&chain, 16, 2, &[]);
    println!("exchange round trips, {secs} s per run, wrk -t2 on the same 2 cores");
    println!("| path | connections | round trips/s | p50 | p99 | errors |");
    println!("|---|---:|---:|---:|---:|---|");
    let mut results = vec![];
    for (name, url, h, c) in [
        ("backend alone", direct.as_str(), &[][..], 64),
        ("nginx → nginx → backend", chain.as_str(), &[][..], 64),
        (
            "Tamga consumer → provider → backend",
            gw.as_str(),
            &client[..],
            64,
        ),
        (
            "Tamga, personal-data service (tracker on)",
            personal_url.as_str(),
            &personal[..],
            64,
        ),
        ("backend alone", direct.as_str(), &[][..], 4),
        ("nginx → nginx → backend", chain.as_str(), &[][..], 4),
        (
            "Tamga consumer → provider → backend",
            gw.as_str(),
            &client[..],
            4,
        ),
    ] {
        let r = wrk(url, c, secs, h);
        println!(
            "| {name} | {c} | {:.0} | {} | {} | {} |",
            r.rps,
            r.p50,
            r.p99,
            if r.errors.is_empty() {
                "none"
            } else {
                &r.errors
            }
        );
        results.push((name, c, r));
    }
    let get = |n: &str, c: u32| {
        results
            .iter()
            .find(|(a, b, _)| *a == n && *b == c)
            .map(|(_, _, r)| r)
            .unwrap()
    };
    let t = get("Tamga consumer → provider → backend", 64);
    let n = get("nginx → nginx → backend", 64);
    println!();
    println!(
        "Tamga / nginx chain at 64 connections: {:.1}%",
        100.0 * t.rps / n.rps
    );
    let t4 = get("Tamga consumer → provider → backend", 4);
    let b4 = get("backend alone", 4);
    println!(
        "at 4 connections ({:.0}/s, {:.0}% of the saturated rate): p99 added by the two gateways {:.2} ms (p99 {} vs backend alone {})",
        t4.rps,
        100.0 * t4.rps / t.rps,
        ms(&t4.p99) - ms(&b4.p99),
        t4.p99,
        b4.p99
    );
    // Every exchange above was logged on both sides; say how many records reached the ledger.
    std::thread::sleep(Duration::from_secs(2));
    if let Ok(cp) = reqwest::blocking_get(&format!(
        "{}/ledger/exchange/checkpoint",
        manifest["base_url"].as_str().unwrap()
    )) {
        println!("exchange log checkpoint after the runs:\n{cp}");
    }
}

mod reqwest {
    /// A tiny blocking GET over the async client (benches have no runtime of their own).
    pub fn blocking_get(url: &str) -> Result<String, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            ::reqwest::get(url)
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())
        })
    }
}
