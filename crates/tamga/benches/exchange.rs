//! Exchange round trips under load: `wrk` → consumer gateway → provider gateway → backend,
//! with everything on (RFC 9421 signatures both ways and their verification, mutual TLS with
//! keep-alive, OCSP-checked peers, message log on both sides, time-stamped batches and ledger
//! commitments), against a plain two-hop nginx reverse-proxy chain (keep-alive, no signing) to
//! the same backend, and the backend alone, in the same run with the same load generator.
//!
//! Two layouts: the demo's gateways inside the demo process (sharing its SQLite writer with
//! the ledger and the other gateways), and the production layout — consumer and provider
//! gateways as separate `tamga serve` processes with their own databases, the demo node as
//! registry, PKI, TSA and ledger.
//!
//! `cargo bench -p tamga --bench exchange` (needs `wrk` and `nginx`: `apt-get install wrk
//! nginx-light`). `TAMGA_BENCH_SECONDS` sets the length of each run (default 15).

#[path = "../tests/support/exchange.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Gw, Proc, Tuning, admin, free_port, set_gateway, start_demo, wait_ready};

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
    // wrk needs at least one connection per thread.
    c.args([
        &format!("-t{}", connections.clamp(1, 2)),
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

fn main() {
    let secs: u64 = std::env::var("TAMGA_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let dir = tempfile::tempdir().unwrap();
    let (_demo, manifest) = start_demo(dir.path(), "600");
    let demo = dir.path().join("demo");
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
    let mut results: Vec<(String, u32, Run)> = vec![];
    let mut measure = |name: &str, url: &str, h: &[(&str, &str)], c: u32| {
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
        results.push((name.to_owned(), c, r));
    };
    measure("backend alone", &direct, &[], 64);
    measure("nginx → nginx → backend", &chain, &[], 64);
    measure("backend alone", &direct, &[], 4);
    measure("nginx → nginx → backend", &chain, &[], 4);
    measure("Tamga, gateways in the demo process", &gw, &client, 64);
    measure(
        "Tamga, gateways in the demo process, personal data",
        &personal_url,
        &personal,
        64,
    );
    measure("Tamga, gateways in the demo process", &gw, &client, 4);

    // The production layout: each gateway its own process and database.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let base = manifest["base_url"].as_str().unwrap().to_owned();
    let token = std::fs::read_to_string(demo.join("secrets/registry-token")).unwrap();
    let conf_url = format!("{base}/exchange/globalconf");
    let tsa = format!("{base}/tsa");
    let gws = [
        (Gw::new(dir.path(), "MN/GOV/9000002", "mta"), vec![]),
        (
            Gw::new(dir.path(), "MN/GOV/9000005", "court"),
            vec![(
                "court-cases/caseStatus",
                format!("http://{backend}/court/cases"),
            )],
        ),
        (
            Gw::new(dir.path(), "MN/GOV/9000001", "gasr"),
            vec![(
                "civil-registry/WS100101_getCitizenIDCardInfo",
                format!("http://{backend}/gasr/citizens"),
            )],
        ),
    ];
    let mut procs: Vec<Proc> = vec![];
    rt.block_on(async {
        let http = ::reqwest::Client::new();
        let mut commands = vec![];
        for (g, backends) in &gws {
            let cfg = g.write_config(
                &demo,
                &base,
                &conf_url,
                backends,
                Tuning {
                    tsa: &tsa,
                    grace: 60,
                    timeout: 10,
                },
            );
            procs.push(g.start(&cfg));
            commands.push(set_gateway(&demo, g.member, g.org, g.listen));
        }
        admin(
            &http,
            &base,
            token.trim(),
            serde_json::Value::Array(commands),
        )
        .await;
        for ((g, _), p) in gws.iter().zip(procs.iter_mut()) {
            wait_ready(&http, g, p).await;
        }
    });
    let tax2 = gws[0].0.consumer();
    let gw2 = format!("{tax2}/r1/MN/GOV/9000005/court-cases/caseStatus/2026-17");
    let personal2 = format!(
        "{tax2}/r1/MN/GOV/9000001/civil-registry/WS100101_getCitizenIDCardInfo/{}",
        pct(&citizen)
    );
    // Until the new addresses are everywhere, calls fail; then warm up.
    for _ in 0..100 {
        if wrk(&gw2, 1, 1, &client).errors.is_empty() {
            break;
        }
    }
    let _ = wrk(&gw2, 16, 2, &client);
    measure("Tamga, separate gateway processes", &gw2, &client, 64);
    measure(
        "Tamga, separate gateway processes, personal data",
        &personal2,
        &personal,
        64,
    );
    measure("Tamga, separate gateway processes", &gw2, &client, 4);
    measure("Tamga, separate gateway processes", &gw2, &client, 1);
    drop(procs);
    let get = |n: &str, c: u32| {
        results
            .iter()
            .find(|(a, b, _)| a == n && *b == c)
            .map(|(_, _, r)| r)
            .unwrap()
    };
    let n = get("nginx → nginx → backend", 64);
    let b4 = get("backend alone", 4);
    println!();
    for layout in [
        "Tamga, gateways in the demo process",
        "Tamga, separate gateway processes",
    ] {
        let t = get(layout, 64);
        let t4 = get(layout, 4);
        println!(
            "{layout}: {:.1}% of the nginx chain at 64 connections; at 4 connections ({:.0}/s, {:.0}% of its saturated rate) the two gateways add {:.2} ms to the p99 (p99 {} vs backend alone {})",
            100.0 * t.rps / n.rps,
            t4.rps,
            100.0 * t4.rps / t.rps,
            ms(&t4.p99) - ms(&b4.p99),
            t4.p99,
            b4.p99
        );
    }
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
