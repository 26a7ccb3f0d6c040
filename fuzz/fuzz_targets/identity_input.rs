//! Untrusted identity input — compact JWS (client assertions, tokens presented back),
//! client registrations, `Authorization: Basic` headers, WebAuthn CBOR, authenticator data,
//! COSE keys and whole registrations/assertions: an error or a result, never a panic.
#![no_main]
use tamga_id::{client, jose, webauthn};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = webauthn::cbor_decode(data);
    if let Ok(a) = webauthn::parse_authenticator_data(data)
        && let Some((_, key)) = a.attested
    {
        let _ = webauthn::cose_es256_point(&key);
    }
    let (left, right) = data.split_at(data.len() / 2);
    let _ = webauthn::verify_registration(left, right, b"challenge", "http://localhost", "localhost");
    let _ = webauthn::verify_assertion(
        left,
        right,
        data,
        b"challenge",
        "http://localhost",
        "localhost",
        &[4; 65],
        0,
    );
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(u) = jose::Unverified::parse(s) {
        let _ = u.alg();
        let _ = u.verify(&jose::JwkSet::default());
    }
    let _ = client::parse_basic(s);
    if let Ok(reg) = serde_json::from_str::<client::ClientRegistration>(s) {
        let _ = reg.validate();
        let _ = reg.sector();
    }
    if let Ok(set) = serde_json::from_str::<jose::JwkSet>(s) {
        for k in &set.keys {
            let _ = k.verify("ES256", data, data);
            let _ = k.verify("RS256", data, data);
        }
    }
});
