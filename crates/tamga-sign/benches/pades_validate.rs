//! PAdES B-LT validation of a 1 MB PDF, offline (revocation data from the DSS), cold (the
//! verified-signature cache cleared before each validation), against the floor the issue names:
//! SHA-256 of the signed bytes plus the signature verifications the validation must do, both
//! measured in the same run; and pyHanko validating the same file (same anchors, revocation
//! from the DSS, hard-fail) when `TAMGA_PYHANKO` points to a python with pyHanko. Also the
//! latency of signing that PDF (B-B, then the DSS update) without the OCSP/TSA round trips.
//!
//! `cargo bench -p tamga-sign --bench pades_validate` (`TAMGA_BENCH_SECONDS`, default 3).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use tamga_keys::{KeyAlgorithm, SignatureAlgorithm};
use tamga_pki::builder::now;
use tamga_pki::signature::{clear_verification_cache, verification_cache_len};
use tamga_sign::pades::{PdfSignOptions, add_dss, sign_pdf, validate_pdf};
use tamga_sign::report::Indication;
use tamga_sign::validate::{Policy, RevocationRequirement};

fn seconds() -> f64 {
    std::env::var("TAMGA_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0)
}

/// Runs `f` for about `secs` seconds; returns seconds per call.
fn time_per_call(secs: f64, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs_f64(secs) {
        f();
        n += 1;
    }
    start.elapsed().as_secs_f64() / n as f64
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let (pki, c) = rt.block_on(async {
        // P-256 throughout, so the floor is SHA-256 plus P-256 verifications only.
        let pki = common::Pki::with_root_algorithm("bench", KeyAlgorithm::EcP256).await;
        let c = pki
            .citizen(
                "bench-ca",
                "Болд",
                "Дорж",
                "УБ00150110",
                KeyAlgorithm::EcP256,
            )
            .await;
        (pki, c)
    });
    let secs = seconds();
    let pdf = common::sample_pdf("Benchmark contract", 1 << 20);
    let tsa = pki.tsa_fn();
    let chain = [pki.ca.clone()];
    let opts = |ts| PdfSignOptions {
        signer: c.key.as_ref(),
        cert: &c.cert,
        chain: &chain,
        time: now(),
        field: None,
        reason: None,
        location: None,
        certify: None,
        timestamp: ts,
    };
    // The document: B-T, then the DSS (B-LT), as a notary office produces it.
    let (blt, data) = rt.block_on(async {
        tokio::task::block_in_place(|| {
            let bt = sign_pdf(&pdf, &opts(Some(&tsa))).unwrap();
            let fetch = pki.ocsp_fn();
            let data = tamga_sign::ltv::collect(
                &[
                    c.cert.clone(),
                    pki.ca.clone(),
                    pki.root.clone(),
                    pki.tsa.clone(),
                ],
                &fetch,
                now(),
            )
            .unwrap();
            (add_dss(&bt, &data).unwrap(), data)
        })
    });
    let policy = Policy {
        anchors: vec![pki.root.clone()],
        extra_certs: vec![],
        extra_crls: vec![],
        extra_ocsp: vec![],
        time: now(),
        algorithms: tamga_pki::AlgorithmPolicy::Strict,
        revocation: RevocationRequirement::Require,
    };
    clear_verification_cache();
    let r = validate_pdf("b.pdf", &blt, &policy).unwrap();
    assert_eq!(r.indication, Indication::TotalPassed, "{:#?}", r.signatures);
    assert_eq!(r.signatures[0].format, "PAdES-BASELINE-LT");
    let verifications = verification_cache_len();
    // `TAMGA_BENCH_PROFILE=N`: only N cold validations (for `valgrind --tool=callgrind`).
    if let Some(n) = std::env::var("TAMGA_BENCH_PROFILE")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
    {
        for _ in 0..n {
            clear_verification_cache();
            std::hint::black_box(validate_pdf("b.pdf", &blt, &policy).unwrap());
        }
        return;
    }

    // The floor: SHA-256 over the signed bytes + that many P-256 verifications.
    let doc = tamga_pdf::Document::parse(blt.clone()).unwrap();
    let f = &tamga_pdf::signatures(&doc).unwrap()[0];
    let signed: usize = f
        .signed_bytes(doc.bytes())
        .unwrap()
        .iter()
        .map(|p| p.len())
        .sum();
    let buf = vec![7u8; signed];
    let t_hash = time_per_call(secs / 3.0, || {
        std::hint::black_box(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &buf));
    });
    let msg = b"benchmark message";
    let sig = c
        .key
        .sign(SignatureAlgorithm::EcdsaP256Sha256, msg)
        .unwrap();
    let spki = c.key.public_key_der().to_vec();
    let t_verify = time_per_call(secs / 3.0, || {
        assert!(tamga_keys::verify(SignatureAlgorithm::EcdsaP256Sha256, &spki, msg, &sig).is_ok());
    });
    let floor = t_hash + verifications as f64 * t_verify;

    // Tamga, one thread, cold.
    let t_tamga = time_per_call(secs, || {
        clear_verification_cache();
        let r = validate_pdf("b.pdf", &blt, &policy).unwrap();
        assert_eq!(r.indication, Indication::TotalPassed);
    });
    // Tamga, two threads (both cores), cold per document (each thread clears; the shared cache
    // makes this an upper bound only by what the other thread verified in between).
    let t_end = Instant::now() + Duration::from_secs_f64(secs);
    let counts: Vec<u64> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while Instant::now() < t_end {
                        clear_verification_cache();
                        let r = validate_pdf("b.pdf", &blt, &policy).unwrap();
                        assert_eq!(r.indication, Indication::TotalPassed);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let two_core = counts.iter().sum::<u64>() as f64 / secs;

    // pyHanko on the same file.
    let pyhanko = std::env::var("TAMGA_PYHANKO").ok().map(|py| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.pdf"), &blt).unwrap();
        std::fs::write(dir.path().join("root.pem"), tamga_testkit::openssl::pem("CERTIFICATE", &pki.root.der)).unwrap();
        let script = r#"
import sys, time
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
roots = list(load_certs_from_pemder([sys.argv[2]]))
data = open(sys.argv[1], 'rb').read()
import io
def once():
    r = PdfFileReader(io.BytesIO(data))
    dss = DocumentSecurityStore.read_dss(handler=r)
    vc = dss.as_validation_context({"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"})
    st = validate_pdf_signature(r.embedded_regular_signatures[0], vc)
    assert st.bottom_line, st.summary()
once()
n = 0
t0 = time.perf_counter()
while time.perf_counter() - t0 < float(sys.argv[3]):
    once(); n += 1
print((time.perf_counter() - t0) / n)
"#;
        let out = std::process::Command::new(py)
            .args(["-c", script, dir.path().join("b.pdf").to_str().unwrap(), dir.path().join("root.pem").to_str().unwrap(), &format!("{}", secs.max(3.0))])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().parse::<f64>().unwrap()
    });

    // Signing latency for the 1 MB PDF (B-B signature, then the DSS update), no round trips.
    let t_sign = time_per_call(secs / 2.0, || {
        let s = sign_pdf(&pdf, &opts(None)).unwrap();
        std::hint::black_box(add_dss(&s, &data).unwrap());
    });

    println!(
        "PAdES B-LT, {} byte PDF ({} signed bytes), offline, cold cache",
        blt.len(),
        signed
    );
    println!();
    println!("| measure | per validation | validations/s |");
    println!("|---|---:|---:|");
    println!(
        "| floor: SHA-256 of the signed bytes ({:.0} µs) + {verifications} P-256 verifications ({:.0} µs each) | {:.0} µs | {:.0} |",
        t_hash * 1e6,
        t_verify * 1e6,
        floor * 1e6,
        1.0 / floor
    );
    println!(
        "| Tamga, 1 thread | {:.0} µs | {:.0} |",
        t_tamga * 1e6,
        1.0 / t_tamga
    );
    println!("| Tamga, 2 threads (2 cores) | — | {two_core:.0} |");
    if let Some(p) = pyhanko {
        println!(
            "| pyHanko 0.38, 1 thread, same file | {:.0} µs | {:.1} |",
            p * 1e6,
            1.0 / p
        );
        println!();
        println!(
            "Tamga / floor: {:.2}× · pyHanko / Tamga per core: {:.0}×",
            t_tamga / floor,
            p / t_tamga
        );
    } else {
        println!();
        println!(
            "Tamga / floor: {:.2}× · pyHanko: skipped (set TAMGA_PYHANKO)",
            t_tamga / floor
        );
    }
    println!(
        "Signing the 1 MB PDF (B-B + DSS update, no OCSP/TSA round trips): {:.2} ms",
        t_sign * 1e3
    );
}
