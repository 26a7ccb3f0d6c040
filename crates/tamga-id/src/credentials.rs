//! Sign-in secrets: password hashes (PBKDF2-HMAC-SHA256, NIST SP 800-132, 600,000 iterations
//! as OWASP recommends for this function), TOTP codes (RFC 6238 over RFC 4226 HOTP, SHA-1,
//! 6 digits, 30 s steps, one step of drift accepted, a step never accepted twice), and the
//! random opaque values the provider hands out (codes, tokens, session ids), which are stored
//! only as SHA-256 hashes.

use std::num::NonZeroU32;

use aws_lc_rs::{constant_time, digest, hmac, pbkdf2, rand};

use crate::jose::{b64, unb64};

/// Iterations for new password hashes.
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// `count` random bytes.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // aws-lc's RNG fails only if the OS gives no entropy, and then nothing here is safe.
    rand::fill(&mut b).expect("system randomness");
    b
}

/// A 256-bit random value, base64url.
pub fn random_token() -> String {
    b64(&random_bytes::<32>())
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// base64url of SHA-256 (the PKCE S256 transform, RFC 7636 §4.2).
pub fn b64_hash(data: &[u8]) -> String {
    b64(&sha256(data))
}

/// Equal in constant time.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Hashes a password: `pbkdf2-sha256$ITER$SALT$HASH` (base64url).
pub fn hash_password(password: &str) -> String {
    hash_password_with(password, PBKDF2_ITERATIONS)
}

/// As [`hash_password`] with a chosen iteration count (tests and benchmarks).
pub fn hash_password_with(password: &str, iterations: u32) -> String {
    let salt = random_bytes::<16>();
    let mut out = [0u8; 32];
    let n = NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        n,
        &salt,
        password.as_bytes(),
        &mut out,
    );
    format!("pbkdf2-sha256${iterations}${}${}", b64(&salt), b64(&out))
}

/// A hash with the same cost as a real one, checked when the account does not exist so the
/// answer takes as long either way (no account enumeration by timing).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a password of anyone"))
}

/// Whether `password` matches `stored`; a malformed stored hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2-sha256"), Some(iter), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Some(iter), Some(salt), Some(hash)) = (
        iter.parse::<u32>().ok().and_then(NonZeroU32::new),
        unb64(salt),
        unb64(hash),
    ) else {
        return false;
    };
    pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iter,
        &salt,
        password.as_bytes(),
        &hash,
    )
    .is_ok()
}

/// RFC 4226 §5.3 HOTP value for `counter`, 6 digits.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    let offset = (mac[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    bin % 1_000_000
}

/// The TOTP step of a Unix time (RFC 6238 §4, T0 = 0, X = 30).
pub fn totp_step(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(30)
}

/// The step `code` matches at `unix_secs` (±1 step), if any and newer than `last_step`.
pub fn totp_match(secret: &[u8], code: &str, unix_secs: i64, last_step: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = totp_step(unix_secs);
    let mut found = None;
    // Every candidate is computed and compared, so timing does not reveal which one matched.
    for step in [now - 1, now, now + 1] {
        let expected = format!("{:06}", hotp(secret, step.max(0) as u64));
        if same(expected.as_bytes(), code.as_bytes()) && step > last_step {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 (no padding), as authenticator apps expect in `otpauth://` URIs.
pub fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes RFC 4648 base32 (padding and spaces ignored, any case).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim().trim_end_matches('=').chars() {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            ' ' => continue,
            _ => return None,
        };
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The TOTP code for a base32 secret at `unix_secs`.
pub fn totp_now(base32_secret: &str, unix_secs: i64) -> Option<String> {
    let key = base32_decode(base32_secret)?;
    Some(format!(
        "{:06}",
        hotp(&key, totp_step(unix_secs).max(0) as u64)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4226_appendix_d() {
        let secret = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (i, e) in expected.iter().enumerate() {
            assert_eq!(hotp(secret, i as u64), *e);
        }
    }

    #[test]
    fn rfc6238_appendix_b_sha1() {
        // The 8-digit values of RFC 6238's table, reduced to the 6 digits Tamga uses.
        let secret = b"12345678901234567890";
        for (t, code8) in [
            (59, 94287082u32),
            (1111111109, 7081804),
            (1234567890, 89005924),
            (2000000000, 69279037),
        ] {
            assert_eq!(hotp(secret, totp_step(t) as u64), code8 % 1_000_000);
        }
    }

    #[test]
    fn totp_window_and_replay() {
        let secret = b"12345678901234567890";
        let t = 1_234_567_890;
        let code = format!("{:06}", hotp(secret, totp_step(t) as u64));
        let step = totp_match(secret, &code, t, 0).unwrap();
        assert_eq!(step, totp_step(t));
        assert_eq!(totp_match(secret, &code, t, step), None, "replayed step");
        assert!(
            totp_match(secret, &code, t + 30, 0).is_some(),
            "one step late"
        );
        assert!(totp_match(secret, &code, t + 90, 0).is_none(), "too late");
        assert!(totp_match(secret, "12345", t, 0).is_none());
    }

    #[test]
    fn passwords() {
        let h = hash_password_with("correct horse", 1000);
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsf", &h));
        assert!(!verify_password("correct horse", "pbkdf2-sha256$0$AA$AA"));
        assert!(!verify_password("x", "garbage"));
    }

    #[test]
    fn base32_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32_decode("MZXW6YTBOI").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base32_decode("0"), None);
    }
}
