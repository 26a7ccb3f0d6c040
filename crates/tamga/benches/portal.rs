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
        wrk(&format!("{base}{path}"), name, secs, None);
    }
    // Applications: the load generator (Python with pyHanko, as in CI) makes N applications
    // and times each step; then the signed-in status page of the last one under wrk.
    let Some(py) = std::env::var("TAMGA_PYTHON").ok().filter(|p| !p.is_empty()) else {
        println!(
            "(set TAMGA_PYTHON to a Python with pyHanko and requests for the application figures)"
        );
        return;
    };
    let n = std::env::var("TAMGA_BENCH_APPLICATIONS").unwrap_or_else(|_| "20".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/portal_application.py");
    let out = Command::new(py)
        .arg(script)
        .arg(dir.path().join("demo"))
        .arg(&n)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    println!();
    println!("{n} applications, one after another (ms; human steps excluded)");
    println!("| step | p50 | p95 | max |");
    println!("|---|---:|---:|---:|");
    for (k, what) in [
        ("fetch", "consent → 3 evidence fetches over Khur"),
        ("document", "PDF/A application file"),
        ("sign", "PAdES B-T by pyHanko (TSA over HTTP)"),
        (
            "submit",
            "signature validation + delivery over the exchange",
        ),
        ("total", "end to end (fetch + document + sign + submit)"),
    ] {
        let s = &v["steps_ms"][k];
        println!("| {what} | {} | {} | {} |", s["p50"], s["p95"], s["max"]);
    }
    println!();
    let cookie = v["cookie"].as_str().unwrap().to_owned();
    let status = v["status_page"].as_str().unwrap().to_owned();
    println!("| page | requests/s | p50 | p90 | p99 | bytes |");
    println!("|---|---:|---:|---:|---:|---:|");
    wrk(
        &status,
        "application status (signed in)",
        secs,
        Some(&cookie),
    );
    wrk(
        &format!("{base}/portal/applications"),
        "my applications (signed in)",
        secs,
        Some(&cookie),
    );
}

fn wrk(url: &str, name: &str, secs: u64, cookie: Option<&str>) {
    {
        let header = cookie.map(|c| format!("Cookie: {c}"));
        let mut size_cmd = Command::new("curl");
        size_cmd.args(["-s", "-o", "/dev/null", "-w", "%{size_download}", url]);
        if let Some(h) = &header {
            size_cmd.args(["-H", h]);
        }
        let size = size_cmd
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let mut cmd = Command::new("wrk");
        cmd.args(["-t2", "-c200", &format!("-d{secs}s"), "--latency", url]);
        if let Some(h) = &header {
            cmd.args(["-H", h]);
        }
        let out = cmd.output().expect("wrk (apt-get install wrk)");
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
