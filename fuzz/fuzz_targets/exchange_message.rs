//! Untrusted exchange input — `Signature-Input`/`Signature`/`Content-Digest` fields, RFC 9421
//! signature bases over hostile messages, X-Road identifiers and paths, signed global
//! configurations: an error or a result, never a panic.
#![no_main]
use http::{HeaderMap, HeaderName, HeaderValue};
use tamga_exchange::{digest, globalconf, httpsig, id, sfv};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = globalconf::verify(data, &[0x30, 0x00]);
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = sfv::parse_dictionary(s);
    let _ = digest::verify_content_digest(s, data);
    let _ = id::ClientId::parse(s);
    let _ = id::ServiceId::from_path(s);
    // Split the input into header lines: name: value.
    let mut headers = HeaderMap::new();
    for line in s.lines().take(32) {
        if let Some((k, v)) = line.split_once(':')
            && let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.trim().to_ascii_lowercase().as_bytes()),
                HeaderValue::from_str(v.trim()),
            )
        {
            headers.append(k, v);
        }
    }
    if let Ok((params, sig)) = httpsig::find(&headers, "tamga") {
        let req = httpsig::Message::Request {
            method: "GET",
            target_uri: "https://gw.example:8443/gw/r1/MN/GOV/1/sub/svc?x=1&y=%D0%91",
            headers: &headers,
        };
        let _ = httpsig::signature_base(&params, &req, None);
        let resp = httpsig::Message::Response { status: 200, headers: &headers };
        if let Ok(base) = httpsig::signature_base(&params, &resp, Some(&req)) {
            let _ = httpsig::verify(httpsig::Algorithm::Ed25519, &[0u8; 44], base.as_bytes(), &sig);
        }
    }
});
