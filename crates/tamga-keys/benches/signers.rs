//! Signatures and verifications per second for every algorithm: software (aws-lc-rs) and
//! SoftHSM2 (PKCS#11), against `openssl speed` for the same algorithms in the same run.
//!
//! `cargo bench -p tamga-keys --bench signers` (set `TAMGA_BENCH_SECONDS` to measure longer).
//! The machine is shared and noisy: read the ratios, not the absolute rates.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tamga_keys::{
    KeyAlgorithm, KeyStore, Pkcs11Config, Pkcs11KeyStore, SignatureAlgorithm, Signer,
    SoftwareSigner, verify,
};
use tamga_testkit::SoftHsm;
use zeroize::Zeroizing;

struct Case {
    key: KeyAlgorithm,
    sig: SignatureAlgorithm,
    openssl: &'static str,
    openssl_line: &'static str,
}

const CASES: &[Case] = &[
    Case {
        key: KeyAlgorithm::EcP256,
        sig: SignatureAlgorithm::EcdsaP256Sha256,
        openssl: "ecdsap256",
        openssl_line: "ecdsa (nistp256)",
    },
    Case {
        key: KeyAlgorithm::EcP384,
        sig: SignatureAlgorithm::EcdsaP384Sha384,
        openssl: "ecdsap384",
        openssl_line: "ecdsa (nistp384)",
    },
    Case {
        key: KeyAlgorithm::Ed25519,
        sig: SignatureAlgorithm::Ed25519,
        openssl: "ed25519",
        openssl_line: "EdDSA (Ed25519)",
    },
    Case {
        key: KeyAlgorithm::Rsa2048,
        sig: SignatureAlgorithm::RsaPkcs1Sha256,
        openssl: "rsa2048",
        openssl_line: "rsa 2048 bits",
    },
    Case {
        key: KeyAlgorithm::Rsa2048,
        sig: SignatureAlgorithm::RsaPssSha256,
        openssl: "rsa2048",
        openssl_line: "rsa 2048 bits",
    },
    Case {
        key: KeyAlgorithm::Rsa3072,
        sig: SignatureAlgorithm::RsaPkcs1Sha256,
        openssl: "rsa3072",
        openssl_line: "rsa 3072 bits",
    },
    Case {
        key: KeyAlgorithm::Rsa4096,
        sig: SignatureAlgorithm::RsaPkcs1Sha256,
        openssl: "rsa4096",
        openssl_line: "rsa 4096 bits",
    },
];

fn rate(budget: Duration, mut op: impl FnMut()) -> f64 {
    // Warm up, then count operations for the budget.
    for _ in 0..3 {
        op();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        op();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// `openssl speed` sign/s and verify/s for one algorithm.
fn openssl_speed(name: &str, line: &str, seconds: u64) -> Option<(f64, f64)> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), name])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text.lines().find(|l| l.contains(line))?;
    let nums: Vec<f64> = row
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let n = nums.len();
    (n >= 2).then(|| (nums[n - 2], nums[n - 1]))
}

fn main() {
    let seconds: u64 = std::env::var("TAMGA_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let budget = Duration::from_secs(seconds);
    let message = [0x5au8; 32];
    let hsm = SoftHsm::shared();
    let token = Pkcs11KeyStore::open(&Pkcs11Config {
        module: hsm.module.clone(),
        token_label: SoftHsm::TOKENS[0].into(),
        pin: Zeroizing::new(hsm.pin.clone()),
    })
    .expect("SoftHSM2 token");

    println!(
        "| algorithm | software sign/s | openssl sign/s | sw/openssl | SoftHSM2 sign/s | hsm/openssl | software verify/s | openssl verify/s | sw/openssl |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for case in CASES {
        let sw: Arc<dyn Signer> = Arc::new(SoftwareSigner::generate("bench", case.key).unwrap());
        let on_token = token
            .open_or_generate(&format!("bench-{}", case.key), case.key)
            .unwrap();
        let sig = sw.sign(case.sig, &message).unwrap();
        let sw_sign = rate(budget, || {
            sw.sign(case.sig, &message).unwrap();
        });
        let hsm_sign = rate(budget, || {
            on_token.sign(case.sig, &message).unwrap();
        });
        let sw_verify = rate(budget, || {
            verify(case.sig, sw.public_key_der(), &message, &sig).unwrap();
        });
        let (ossl_sign, ossl_verify) =
            openssl_speed(case.openssl, case.openssl_line, seconds).unwrap_or((f64::NAN, f64::NAN));
        println!(
            "| {} {} | {sw_sign:.0} | {ossl_sign:.0} | {:.2} | {hsm_sign:.0} | {:.2} | {sw_verify:.0} | {ossl_verify:.0} | {:.2} |",
            case.key,
            case.sig,
            sw_sign / ossl_sign,
            hsm_sign / ossl_sign,
            sw_verify / ossl_verify,
        );
    }
}
