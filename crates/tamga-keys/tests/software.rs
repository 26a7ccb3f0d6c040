//! Software keys: every algorithm signs what aws-lc-rs and openssl verify; key files are
//! standard encrypted PKCS#8 that openssl reads and writes.

use std::sync::Arc;

use tamga_keys::{
    KeyAlgorithm, KeyError, KeyStore, SignatureAlgorithm, Signer, SoftwareKeyStore, verify,
};
use tamga_testkit::openssl;

const PASS: &[u8] = b"Tamga test passphrase";

fn store(dir: &std::path::Path) -> SoftwareKeyStore {
    SoftwareKeyStore::open(dir, PASS)
        .unwrap()
        .with_pbkdf2_iterations(2_000)
}

fn check_signatures(signer: &Arc<dyn Signer>) {
    let message = "Монгол Улсын иргэний үнэмлэх / Mongolian ID card".as_bytes();
    for alg in SignatureAlgorithm::ALL {
        if !alg.fits(signer.key_algorithm()) {
            assert!(matches!(
                signer.sign(alg, message),
                Err(KeyError::AlgorithmMismatch { .. })
            ));
            continue;
        }
        let sig = signer.sign(alg, message).unwrap();
        verify(alg, signer.public_key_der(), message, &sig)
            .unwrap_or_else(|e| panic!("{alg} on {}: {e}", signer.key_algorithm()));
        assert!(
            openssl::verify(alg.name(), signer.public_key_der(), message, &sig),
            "openssl rejects {alg}"
        );
        // A changed message and a changed signature both fail, here and at the peer.
        assert!(matches!(
            verify(alg, signer.public_key_der(), b"other", &sig),
            Err(KeyError::BadSignature)
        ));
        let mut bad = sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(verify(alg, signer.public_key_der(), message, &bad).is_err());
        assert!(!openssl::verify(
            alg.name(),
            signer.public_key_der(),
            message,
            &bad
        ));
    }
}

#[test]
fn every_algorithm_signs_verifiably_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let keys = store(dir.path());
    for alg in KeyAlgorithm::ALL {
        let label = format!("k-{alg}");
        let signer = keys.generate(&label, alg).unwrap();
        assert_eq!(signer.key_algorithm(), alg);
        check_signatures(&signer);
        // A fresh store (no cache) decrypts the file and gets the same key.
        let reopened = store(dir.path()).open(&label).unwrap();
        assert_eq!(reopened.public_key_der(), signer.public_key_der());
        assert_eq!(reopened.key_id(), signer.key_id());
    }
    let listed = store(dir.path()).list().unwrap();
    assert_eq!(listed.len(), KeyAlgorithm::ALL.len());
    assert!(listed.windows(2).all(|w| w[0].label < w[1].label));
}

#[test]
fn key_files_are_private_and_encrypted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let keys = store(dir.path());
    keys.generate("node", KeyAlgorithm::EcP256).unwrap();
    let path = keys.path_of("node");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert!(!text.contains("-----BEGIN PRIVATE KEY-----"));
    // No temp files left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn wrong_passphrase_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path())
        .generate("node", KeyAlgorithm::Ed25519)
        .unwrap();
    let other = SoftwareKeyStore::open(dir.path(), b"not the passphrase").unwrap();
    let err = other.open("node").unwrap_err();
    assert!(matches!(err, KeyError::WrongPassphrase { .. }), "{err}");
    assert!(err.to_string().contains("node.key.pem"), "{err}");
}

#[test]
fn labels_exist_once_and_must_be_safe() {
    let dir = tempfile::tempdir().unwrap();
    let keys = store(dir.path());
    keys.generate("a", KeyAlgorithm::EcP256).unwrap();
    assert!(matches!(
        keys.generate("a", KeyAlgorithm::EcP256),
        Err(KeyError::LabelExists { .. })
    ));
    for bad in [
        "",
        "../etc/passwd",
        ".hidden",
        "a b",
        "ключ",
        &"x".repeat(65),
    ] {
        assert!(
            matches!(
                keys.generate(bad, KeyAlgorithm::EcP256),
                Err(KeyError::InvalidLabel(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        keys.open("missing"),
        Err(KeyError::KeyNotFound { .. })
    ));
    assert!(matches!(
        SoftwareKeyStore::open(dir.path(), b""),
        Err(KeyError::EmptyPassphrase)
    ));
}

#[test]
fn swapped_public_block_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let keys = store(dir.path());
    keys.generate("a", KeyAlgorithm::EcP256).unwrap();
    keys.generate("b", KeyAlgorithm::EcP256).unwrap();
    let a = std::fs::read_to_string(keys.path_of("a")).unwrap();
    let b = std::fs::read_to_string(keys.path_of("b")).unwrap();
    let split = |s: &str| {
        let i = s.find("-----BEGIN ENCRYPTED").unwrap();
        (s[..i].to_owned(), s[i..].to_owned())
    };
    let (b_pub, _) = split(&b);
    let (_, a_priv) = split(&a);
    std::fs::write(keys.path_of("a"), format!("{b_pub}{a_priv}")).unwrap();
    let err = store(dir.path()).open("a").unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn damaged_key_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let keys = store(dir.path());
    for (name, content) in [
        ("empty", String::new()),
        ("garbage", "not pem at all".to_owned()),
        (
            "badb64",
            "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n".to_owned(),
        ),
        (
            "other",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_owned(),
        ),
    ] {
        std::fs::write(keys.path_of(name), content).unwrap();
        let err = keys.open(name).unwrap_err();
        assert!(
            matches!(err, KeyError::MalformedKeyFile { .. }),
            "{name}: {err}"
        );
    }
}

#[test]
fn openssl_reads_our_key_files() {
    let dir = tempfile::tempdir().unwrap();
    let keys = store(dir.path());
    for alg in [
        KeyAlgorithm::EcP384,
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
    ] {
        let label = format!("x-{alg}");
        let signer = keys.generate(&label, alg).unwrap();
        let path = keys.path_of(&label);
        let (ok, out) = openssl::run(
            dir.path(),
            &[
                "pkey",
                "-in",
                path.to_str().unwrap(),
                "-passin",
                "pass:Tamga test passphrase",
                "-pubout",
                "-outform",
                "DER",
                "-out",
                "pub.der",
            ],
        );
        assert!(ok, "openssl pkey: {out}");
        assert_eq!(
            std::fs::read(dir.path().join("pub.der")).unwrap(),
            signer.public_key_der()
        );
    }
}

#[test]
fn we_read_keys_openssl_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let keys = store(dir.path());
    for (label, gen_args) in [
        (
            "ossl-p256",
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        ("ossl-ed25519", vec!["-algorithm", "ED25519"]),
        (
            "ossl-rsa",
            vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
    ] {
        let mut args = vec!["genpkey"];
        args.extend(gen_args);
        args.extend([
            "-aes-128-cbc",
            "-pass",
            "pass:Tamga test passphrase",
            "-out",
            "priv.pem",
        ]);
        let (ok, out) = openssl::run(dir.path(), &args);
        assert!(ok, "{out}");
        let (ok, out) = openssl::run(
            dir.path(),
            &[
                "pkey",
                "-in",
                "priv.pem",
                "-passin",
                "pass:Tamga test passphrase",
                "-pubout",
                "-out",
                "pub.pem",
            ],
        );
        assert!(ok, "{out}");
        let file = format!(
            "{}{}",
            std::fs::read_to_string(dir.path().join("pub.pem")).unwrap(),
            std::fs::read_to_string(dir.path().join("priv.pem")).unwrap()
        );
        std::fs::write(keys.path_of(label), file).unwrap();
        let signer = store(dir.path()).open(label).unwrap();
        let alg = signer.key_algorithm().default_signature();
        let sig = signer.sign(alg, b"hello").unwrap();
        assert!(openssl::verify(
            alg.name(),
            signer.public_key_der(),
            b"hello",
            &sig
        ));
    }
}

#[test]
fn pkcs12_files_open_in_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let keys = store(dir.path());
    let signer = keys.generate("holder", KeyAlgorithm::EcP256).unwrap();
    let key_path = keys.path_of("holder");
    // A self-signed certificate for the key, made by openssl from our key file.
    let (ok, out) = openssl::run(
        dir.path(),
        &[
            "req",
            "-x509",
            "-key",
            key_path.to_str().unwrap(),
            "-passin",
            "pass:Tamga test passphrase",
            "-subj",
            "/CN=Батбаяр",
            "-utf8",
            "-days",
            "1",
            "-outform",
            "DER",
            "-out",
            "cert.der",
        ],
    );
    assert!(ok, "{out}");
    let cert = std::fs::read(dir.path().join("cert.der")).unwrap();
    let reopened = tamga_keys::decrypt_pkcs8(
        &der::pem::decode_vec(
            std::fs::read_to_string(&key_path)
                .unwrap()
                .split("-----END PUBLIC KEY-----\n")
                .nth(1)
                .unwrap()
                .as_bytes(),
        )
        .unwrap()
        .1,
        b"Tamga test passphrase",
    )
    .unwrap();
    let p12 =
        tamga_keys::build_pkcs12(&reopened, &cert, &[], "246810", "Батбаяр sign", 10_000).unwrap();
    std::fs::write(dir.path().join("holder.p12"), &p12).unwrap();
    let (ok, out) = openssl::run(
        dir.path(),
        &[
            "pkcs12",
            "-in",
            "holder.p12",
            "-passin",
            "pass:246810",
            "-info",
            "-nodes",
            "-out",
            "dump.pem",
        ],
    );
    assert!(ok, "openssl pkcs12: {out}");
    assert!(
        out.contains("MAC: sha256") && out.contains("PBES2"),
        "{out}"
    );
    let (ok, out) = openssl::run(
        dir.path(),
        &[
            "pkey", "-in", "dump.pem", "-pubout", "-outform", "DER", "-out", "pub.der",
        ],
    );
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read(dir.path().join("pub.der")).unwrap(),
        signer.public_key_der()
    );
    // A wrong password fails the MAC.
    let (ok, out) = openssl::run(
        dir.path(),
        &[
            "pkcs12",
            "-in",
            "holder.p12",
            "-passin",
            "pass:000000",
            "-noout",
        ],
    );
    assert!(!ok && out.contains("verify error"), "{out}");
}

#[test]
fn software_keys_sign_digests() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let signer = store.generate("digest", KeyAlgorithm::EcP256).unwrap();
    let message = b"hashed elsewhere";
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, message);
    let sig = signer
        .sign_digest(SignatureAlgorithm::EcdsaP256Sha256, digest.as_ref())
        .unwrap();
    verify(
        SignatureAlgorithm::EcdsaP256Sha256,
        signer.public_key_der(),
        message,
        &sig,
    )
    .unwrap();
    assert!(
        signer
            .sign_digest(SignatureAlgorithm::EcdsaP256Sha256, &[0u8; 20])
            .is_err()
    );
}
