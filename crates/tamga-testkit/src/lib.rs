//! Real parts for Tamga's tests, never fakes: a SoftHSM2 token initialised in a temp dir, a
//! fresh SQLite file, and (when `TAMGA_TEST_DATABASE_URL` is set) a fresh PostgreSQL schema.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The environment variable naming the PostgreSQL server tests use.
pub const POSTGRES_ENV: &str = "TAMGA_TEST_DATABASE_URL";

/// Where Debian and others install the SoftHSM2 module.
const SOFTHSM_MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// A SoftHSM2 installation private to this test process, with initialised tokens.
pub struct SoftHsm {
    /// The PKCS#11 module to load.
    pub module: PathBuf,
    /// The user PIN of every token.
    pub pin: String,
    _dir: tempfile::TempDir,
}

impl SoftHsm {
    /// The token labels created, each with [`SoftHsm::pin`].
    pub const TOKENS: [&'static str; 2] = ["tamga-test", "tamga-spare"];

    /// The process-wide SoftHSM2 (PKCS#11 modules are initialised once per process, so tokens
    /// are created before the first test loads the module).
    ///
    /// Panics with the install command if SoftHSM2 is missing: these tests exist to run against
    /// a real token and are not silently skipped.
    pub fn shared() -> &'static SoftHsm {
        static HSM: OnceLock<SoftHsm> = OnceLock::new();
        HSM.get_or_init(|| Self::create().unwrap_or_else(|e| panic!("SoftHSM2 unavailable: {e}")))
    }

    fn create() -> Result<SoftHsm, String> {
        let module = SOFTHSM_MODULES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or("libsofthsm2.so not found: apt-get install softhsm2")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).map_err(|e| e.to_string())?;
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        // SAFETY: runs once, inside OnceLock initialisation, before any PKCS#11 module is loaded
        // in this process; nothing else in the test process reads this variable concurrently.
        unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
        let pin = "246813".to_owned();
        for label in Self::TOKENS {
            let out = Command::new("softhsm2-util")
                .env("SOFTHSM2_CONF", &conf)
                .args([
                    "--init-token",
                    "--free",
                    "--label",
                    label,
                    "--pin",
                    &pin,
                    "--so-pin",
                    "97531",
                ])
                .output()
                .map_err(|e| format!("softhsm2-util: {e} (apt-get install softhsm2)"))?;
            if !out.status.success() {
                return Err(format!(
                    "softhsm2-util --init-token failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        Ok(SoftHsm {
            module,
            pin,
            _dir: dir,
        })
    }
}

/// A database for one test: removed afterwards (SQLite: with its temp dir; PostgreSQL: the
/// schema is dropped by [`TestDatabase::cleanup`], and `.ci/run` recreates the database).
pub struct TestDatabase {
    /// The URL to hand to `Store::open`.
    pub url: String,
    /// `"sqlite"` or `"postgres"`.
    pub backend: &'static str,
    admin_url: Option<String>,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A new SQLite file in a temp dir.
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        TestDatabase {
            url,
            backend: "sqlite",
            admin_url: None,
            schema: None,
            _dir: Some(dir),
        }
    }

    /// A new schema on the server named by `TAMGA_TEST_DATABASE_URL`, or `None` if unset.
    pub async fn postgres() -> Option<TestDatabase> {
        let admin_url = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())?;
        let mut suffix = [0u8; 6];
        aws_lc_rs::rand::fill(&mut suffix).expect("random");
        let schema = format!("t_{}", hex::encode(suffix));
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but PostgreSQL is unreachable: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .expect("create test schema");
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        // libpq-style `options` sets the search_path for every connection of the pool.
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
        Some(TestDatabase {
            url,
            backend: "postgres",
            admin_url: Some(admin_url),
            schema: Some(schema),
            _dir: None,
        })
    }

    /// SQLite always, plus PostgreSQL when configured: the backends every store test runs on.
    pub async fn all() -> Vec<TestDatabase> {
        let mut dbs = vec![Self::sqlite()];
        dbs.extend(Self::postgres().await);
        dbs
    }

    /// The SQLite file's directory, if this is SQLite.
    pub fn dir(&self) -> Option<&Path> {
        self._dir.as_ref().map(|d| d.path())
    }

    /// Drops the PostgreSQL schema (SQLite files go with the temp dir).
    pub async fn cleanup(self) {
        if let (Some(admin), Some(schema)) = (&self.admin_url, &self.schema)
            && let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(admin).await
        {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut conn)
                .await;
        }
    }
}

/// The repository's `shared/testdata` folder, if present beside the checkout.
pub fn shared_testdata() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = here.join("../../../shared/testdata");
    p.is_dir().then_some(p)
}

/// `openssl` as a peer: independent checks of what Tamga produces.
pub mod openssl {
    use std::path::Path;
    use std::process::Command;

    /// Writes DER as PEM with the given label.
    pub fn pem(label: &str, der: &[u8]) -> String {
        use std::fmt::Write;
        let b64 = base64_encode(der);
        let mut out = format!("-----BEGIN {label}-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            let _ = writeln!(out, "{}", String::from_utf8_lossy(chunk));
        }
        let _ = writeln!(out, "-----END {label}-----");
        out
    }

    fn base64_encode(data: &[u8]) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// Runs openssl with `args` in `dir`; returns (success, stdout+stderr).
    pub fn run(dir: &Path, args: &[&str]) -> (bool, String) {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl must be installed");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// Verifies `signature` over `message` with `openssl`, for a Tamga signature algorithm name
    /// (`ecdsa-p256-sha256`, `ed25519`, `rsa-pss-sha256`, …). Returns openssl's verdict.
    pub fn verify(algorithm: &str, spki_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("pub.pem"), pem("PUBLIC KEY", spki_der)).unwrap();
        std::fs::write(dir.path().join("msg"), message).unwrap();
        std::fs::write(dir.path().join("sig"), signature).unwrap();
        let mut args: Vec<&str> = match algorithm {
            "ed25519" => vec![
                "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
                "-sigfile", "sig",
            ],
            _ => {
                let hash = if algorithm.ends_with("sha384") {
                    "-sha384"
                } else {
                    "-sha256"
                };
                vec!["dgst", hash, "-verify", "pub.pem", "-signature", "sig"]
            }
        };
        match algorithm {
            "rsa-pss-sha256" => args.extend([
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
            ]),
            "rsa-pss-sha384" => args.extend([
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:48",
            ]),
            _ => {}
        }
        if algorithm != "ed25519" {
            args.push("msg");
        }
        run(dir.path(), &args).0
    }
}
