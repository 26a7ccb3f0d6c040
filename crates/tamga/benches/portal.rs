//! The portal's catalogue pages under 200 concurrent users: `wrk -c200 --latency` against the
//! demo node's home, search and service pages, each run `TAMGA_BENCH_SECONDS` (default 10).
//! wrk reports the 50th/75th/90th/99th percentiles; the target is on the 95th, so the
//! 99th is the stricter figure reported. Page sizes are measured as served.
//!
//! `cargo bench -p tamga --bench portal` (needs `wrk`: `apt-get install wrk`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_demo(dir: &Path) -> (Proc, Value) {
    let data = dir.join("demo");
    let child = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(["demo", "--data", data.to_str().unwrap(), "--port", "0"])
        .env("TAMGA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Ok(t) = std::fs::read_to_string(data.join("demo.json"))
            && let Ok(v) = serde_json::from_str::<Value>(&t)
        {
            return (child, v);
        }
        assert!(Instant::now() < deadline, "demo.json never appeared");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn main() {
    let secs: u64 = std::env::var("TAMGA_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let (_demo, manifest) = start_demo(dir.path());
    let base = manifest["base_url"].as_str().unwrap().to_owned();
    println!("wrk -t2 -c200 -d{secs}s --latency; node and wrk on the same 2 cores");
    println!("| page | requests/s | p50 | p90 | p99 | bytes |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, path) in [
        ("home (life events, organisations)", "/portal"),
        (
            "search \"pension\" (English)",
            "/portal/services?q=pension&lang=en",
        ),
        ("life event: birth", "/portal/services?event=birth"),
        (
            "service page",
            "/portal/services/voluntary-social-insurance",
        ),
    ] {
        let url = format!("{base}{path}");
        let size = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{size_download}", &url])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let out = Command::new("wrk")
            .args(["-t2", "-c200", &format!("-d{secs}s"), "--latency", &url])
            .output()
            .expect("wrk (apt-get install wrk)");
        let text = String::from_utf8_lossy(&out.stdout);
        let pct = |p: &str| {
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
            .unwrap_or("?")
            .to_owned();
        let errors = text
            .lines()
            .find(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
            .unwrap_or("");
        println!(
            "| {name} | {rps} | {} | {} | {} | {size} | {errors}",
            pct("50%"),
            pct("90%"),
            pct("99%")
        );
    }
}
