//! PKCS#11 keys on a real SoftHSM2 token initialised by the test itself.

use std::path::PathBuf;

use tamga_keys::{
    KeyAlgorithm, KeyError, KeyStore, Pkcs11Config, Pkcs11KeyStore, SignatureAlgorithm, verify,
};
use tamga_testkit::{SoftHsm, openssl};
use zeroize::Zeroizing;

fn config(token: &str, pin: &str) -> Pkcs11Config {
    Pkcs11Config {
        module: SoftHsm::shared().module.clone(),
        token_label: token.into(),
        pin: Zeroizing::new(pin.into()),
    }
}

fn token() -> Pkcs11KeyStore {
    let hsm = SoftHsm::shared();
    Pkcs11KeyStore::open(&config(SoftHsm::TOKENS[0], &hsm.pin)).unwrap()
}

#[test]
fn every_algorithm_signs_on_the_token() {
    let store = token();
    let message = b"signed inside SoftHSM2";
    for alg in KeyAlgorithm::ALL {
        // RSA-4096 generation on SoftHSM takes seconds; 2048 and 3072 cover the code path.
        if alg == KeyAlgorithm::Rsa4096 {
            continue;
        }
        let label = format!("every-{alg}");
        let signer = store
            .generate(&label, alg)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(signer.key_algorithm(), alg);
        for sig_alg in SignatureAlgorithm::ALL.into_iter().filter(|s| s.fits(alg)) {
            let sig = signer
                .sign(sig_alg, message)
                .unwrap_or_else(|e| panic!("{sig_alg}: {e}"));
            verify(sig_alg, signer.public_key_der(), message, &sig)
                .unwrap_or_else(|e| panic!("{sig_alg} from token: {e}"));
            assert!(
                openssl::verify(sig_alg.name(), signer.public_key_der(), message, &sig),
                "openssl rejects token {sig_alg}"
            );
        }
        // Found again by label, with the same public key.
        let again = store.open(&label).unwrap();
        assert_eq!(again.public_key_der(), signer.public_key_der());
    }
    let listed = store.list().unwrap();
    for alg in KeyAlgorithm::ALL
        .into_iter()
        .filter(|a| *a != KeyAlgorithm::Rsa4096)
    {
        let entry = listed
            .iter()
            .find(|k| k.label == format!("every-{alg}"))
            .unwrap();
        assert_eq!(entry.algorithm, alg);
    }
}

#[test]
fn labels_are_unique_on_the_token() {
    let store = token();
    store
        .generate("unique-label", KeyAlgorithm::EcP256)
        .unwrap();
    assert!(matches!(
        store.generate("unique-label", KeyAlgorithm::EcP256),
        Err(KeyError::LabelExists { .. })
    ));
    assert!(matches!(
        store.open("no-such-key"),
        Err(KeyError::KeyNotFound { .. })
    ));
    // open_or_generate is idempotent.
    let a = store
        .open_or_generate("idem", KeyAlgorithm::Ed25519)
        .unwrap();
    let b = store
        .open_or_generate("idem", KeyAlgorithm::Ed25519)
        .unwrap();
    assert_eq!(a.public_key_der(), b.public_key_der());
}

#[test]
fn wrong_pin_is_refused_on_a_fresh_and_on_a_logged_in_token() {
    // The spare token has not been logged in by anyone in this process: the token decides.
    let err = Pkcs11KeyStore::open(&config(SoftHsm::TOKENS[1], "000000"))
        .err()
        .unwrap();
    assert!(matches!(err, KeyError::WrongPin { .. }), "{err}");
    // The main token may already be logged in by another test: we still refuse.
    let _logged_in = token();
    let err = Pkcs11KeyStore::open(&config(SoftHsm::TOKENS[0], "999999"))
        .err()
        .unwrap();
    assert!(matches!(err, KeyError::WrongPin { .. }), "{err}");
    assert!(err.to_string().contains("rejected the PIN"));
}

#[test]
fn missing_token_lists_what_is_there() {
    let hsm = SoftHsm::shared();
    let err = Pkcs11KeyStore::open(&config("no-such-token", &hsm.pin))
        .err()
        .unwrap();
    assert!(matches!(err, KeyError::TokenNotFound { .. }), "{err}");
    assert!(err.to_string().contains("tamga-test"), "{err}");
}

#[test]
fn missing_module_is_named() {
    let mut cfg = config("x", "1");
    cfg.module = PathBuf::from("/nonexistent/libpkcs11.so");
    let err = Pkcs11KeyStore::open(&cfg).err().unwrap();
    assert!(matches!(err, KeyError::ModuleLoad { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/libpkcs11.so"));
}

#[test]
fn pin_never_appears_in_debug_output() {
    let cfg = config("t", "314159");
    assert!(!format!("{cfg:?}").contains("314159"));
}

#[test]
fn token_signs_digests_for_remote_signing() {
    let store = token();
    let message = b"a document the citizen hashed on another machine";
    for (alg, sig_alg, hash) in [
        (
            KeyAlgorithm::EcP256,
            SignatureAlgorithm::EcdsaP256Sha256,
            &aws_lc_rs::digest::SHA256,
        ),
        (
            KeyAlgorithm::EcP384,
            SignatureAlgorithm::EcdsaP384Sha384,
            &aws_lc_rs::digest::SHA384,
        ),
    ] {
        let signer = store
            .open_or_generate(&format!("digest-{alg}"), alg)
            .unwrap();
        let digest = aws_lc_rs::digest::digest(hash, message);
        let sig = signer.sign_digest(sig_alg, digest.as_ref()).unwrap();
        verify(sig_alg, signer.public_key_der(), message, &sig).unwrap();
        assert!(openssl::verify(
            sig_alg.name(),
            signer.public_key_der(),
            message,
            &sig
        ));
        // A digest of the wrong length is refused, not signed.
        assert!(signer.sign_digest(sig_alg, &digest.as_ref()[1..]).is_err());
    }
    let rsa = store
        .open_or_generate("digest-rsa", KeyAlgorithm::Rsa2048)
        .unwrap();
    assert!(matches!(
        rsa.sign_digest(SignatureAlgorithm::RsaPkcs1Sha256, &[0u8; 32]),
        Err(KeyError::AlgorithmMismatch { .. })
    ));
}
