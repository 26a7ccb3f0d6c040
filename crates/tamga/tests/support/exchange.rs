//! Shared by the exchange end-to-end test and the exchange benchmark: the demo as registry,
//! PKI, TSA and ledger; gateway processes (`tamga serve`) with their configuration; registry
//! commands.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const PIN: &str = "246810";

pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn start_demo(dir: &Path, registry_validity_secs: &str) -> (Proc, Value) {
    start_demo_with(dir, registry_validity_secs, &[])
}

/// [`start_demo`] with extra environment (configuration overrides).
pub fn start_demo_with(
    dir: &Path,
    registry_validity_secs: &str,
    env: &[(&str, &str)],
) -> (Proc, Value) {
    let data = dir.join("demo");
    let child = Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(["demo", "--data", data.to_str().unwrap(), "--port", "0"])
        .envs(env.iter().copied())
        .env("TAMGA_LOG", "warn")
        .env("TAMGA_REGISTRY__VALIDITY_SECS", registry_validity_secs)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Ok(t) = std::fs::read_to_string(data.join("demo.json"))
            && let Ok(v) = serde_json::from_str::<Value>(&t)
        {
            return (child, v);
        }
        assert!(child.0.try_wait().unwrap().is_none(), "demo exited early");
        assert!(Instant::now() < deadline, "demo.json never appeared");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What differs between gateway starts.
pub struct Tuning<'a> {
    pub tsa: &'a str,
    pub grace: u64,
    pub timeout: u64,
}

pub struct Gw {
    pub member: &'static str,
    pub org: &'static str,
    pub dir: PathBuf,
    pub node_port: u16,
    pub listen: u16,
    pub client: u16,
}

impl Gw {
    pub fn new(root: &Path, member: &'static str, org: &'static str) -> Self {
        let dir = root.join(format!("gw-{org}"));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            member,
            org,
            dir,
            node_port: free_port(),
            listen: free_port(),
            client: free_port(),
        }
    }

    pub fn write_config(
        &self,
        demo: &Path,
        base: &str,
        conf_url: &str,
        backends: &[(&str, String)],
        t: Tuning<'_>,
    ) -> PathBuf {
        let Tuning {
            tsa,
            grace,
            timeout,
        } = t;
        let pass = self.dir.join("passphrase");
        std::fs::write(&pass, "gateway node key passphrase").unwrap();
        set_mode(&pass);
        let h = demo.join("holders").join(self.org);
        let mut text = format!(
            r#"data_dir = "{data}"
roles = ["node", "gateway"]
[node]
name = "gw-{org}"
listen = "127.0.0.1:{node}"
[keys]
passphrase_file = "{pass}"
[[gateways]]
member = "{member}"
listen = "127.0.0.1:{listen}"
client_listen = "127.0.0.1:{client}"
registry_url = "{conf_url}"
registry_key_file = "{demo}/exchange/registry.pub.pem"
tls_server_p12 = "{h}/tls-server.p12"
tls_client_p12 = "{h}/tls-client.p12"
signing_p12 = "{h}/seal.p12"
ledger_url = "{base}"
ledger_token_file = "{demo}/secrets/ledger-token"
tsa_url = "{tsa}"
log_bodies = true
timeout_secs = {timeout}
signature_lifetime_secs = 5
clock_skew_secs = 1
accountability_grace_secs = {grace}
batch_interval_ms = 200
ocsp_cache_secs = 1
conf_poll_secs = 1
[gateways.backends]
"#,
            data = self.dir.join("data").display(),
            org = self.org,
            node = self.node_port,
            pass = pass.display(),
            member = self.member,
            listen = self.listen,
            client = self.client,
            demo = demo.display(),
            h = h.display(),
        );
        for (k, v) in backends {
            text.push_str(&format!("\"{k}\" = \"{v}\"\n"));
        }
        let path = self.dir.join("tamga.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn start(&self, config: &Path) -> Proc {
        let log = std::fs::File::create(self.dir.join("log.txt")).unwrap();
        Proc(
            Command::new(env!("CARGO_BIN_EXE_tamga"))
                .args(["serve", "--config", config.to_str().unwrap()])
                .env("TAMGA_P12_PASSWORD", PIN)
                .env("TAMGA_LOG", "info")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    pub fn consumer(&self) -> String {
        format!("http://127.0.0.1:{}", self.client)
    }

    pub fn readyz(&self) -> String {
        format!("http://127.0.0.1:{}/readyz", self.node_port)
    }
}

pub fn set_mode(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
}

pub async fn wait_ready(http: &reqwest::Client, gw: &Gw, proc_: &mut Proc) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(gw.readyz()).send().await
            && r.status() == 200
        {
            return;
        }
        if let Some(status) = proc_.0.try_wait().unwrap() {
            panic!(
                "gateway {} exited ({status}): {}",
                gw.org,
                std::fs::read_to_string(gw.dir.join("log.txt")).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "gateway {} never became ready: {}",
            gw.org,
            std::fs::read_to_string(gw.dir.join("log.txt")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn admin(http: &reqwest::Client, base: &str, token: &str, commands: Value) -> Value {
    let r = http
        .post(format!("{base}/exchange/registry/commands"))
        .bearer_auth(token)
        .json(&json!({ "actor": "test", "why": "exchange end-to-end test", "commands": commands }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "registry refused: {v}");
    v
}

pub fn pem(demo: &Path, org: &str, usage: &str) -> String {
    std::fs::read_to_string(demo.join(format!("holders/{org}/{usage}.crt.pem"))).unwrap()
}

pub fn set_gateway(demo: &Path, member: &str, org: &str, port: u16) -> Value {
    json!({ "command": "set-gateway", "member": member, "address": format!("https://127.0.0.1:{port}"),
        "tls_server_certificate": pem(demo, org, "tls-server"),
        "tls_client_certificate": pem(demo, org, "tls-client"),
        "signing_certificate": pem(demo, org, "seal") })
}
