//! RFC 9421 HTTP Message Signatures: the signature base (§2.5) from covered components —
//! derived components (§2.2: `@method`, `@target-uri`, `@authority`, `@scheme`,
//! `@request-target`, `@path`, `@query`, `@query-param`, `@status`), HTTP fields (§2.1, with
//! the `key` and `req` parameters) — signature parameters (§2.3), and signing/verification with
//! the algorithms of §3.3 (`rsa-pss-sha512`, `rsa-v1_5-sha256`, `hmac-sha256`,
//! `ecdsa-p256-sha256`, `ecdsa-p384-sha384`, `ed25519`).
//!
//! The gateway policy (which components must be covered, freshness, nonces, key ids) lives in
//! the gateway; this module only says what a signature covers and whether it verifies.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;

use crate::sfv::{self, Bare, Item, Member, Params};

/// A signature problem, precise enough to put in an error header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// `Signature-Input` or `Signature` is missing or malformed.
    #[error("signature fields: {0}")]
    Malformed(String),
    /// No signature with the expected label.
    #[error("no signature labelled {0:?}")]
    NoSuchLabel(String),
    /// A covered component is absent from the message.
    #[error("covered component {0} is not in the message")]
    MissingComponent(String),
    /// A component or parameter this implementation does not support.
    #[error("unsupported component {0}")]
    Unsupported(String),
    /// Unknown algorithm name.
    #[error("unknown signature algorithm {0:?}")]
    UnknownAlgorithm(String),
    /// The key cannot be used with the algorithm.
    #[error("the key does not fit {0}")]
    KeyMismatch(&'static str),
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
}

/// A signature algorithm from the HTTP Signature Algorithms registry (§6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PSS, SHA-512, MGF1-SHA-512, 64-byte salt.
    RsaPssSha512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaV15Sha256,
    /// HMAC-SHA-256.
    HmacSha256,
    /// ECDSA P-256 / SHA-256, raw `r || s`.
    EcdsaP256Sha256,
    /// ECDSA P-384 / SHA-384, raw `r || s`.
    EcdsaP384Sha384,
    /// Ed25519.
    Ed25519,
}

impl Algorithm {
    /// The registered name.
    pub fn name(self) -> &'static str {
        match self {
            Self::RsaPssSha512 => "rsa-pss-sha512",
            Self::RsaV15Sha256 => "rsa-v1_5-sha256",
            Self::HmacSha256 => "hmac-sha256",
            Self::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Self::EcdsaP384Sha384 => "ecdsa-p384-sha384",
            Self::Ed25519 => "ed25519",
        }
    }

    /// Parses a registered name.
    pub fn parse(name: &str) -> Result<Self, SigError> {
        Ok(match name {
            "rsa-pss-sha512" => Self::RsaPssSha512,
            "rsa-v1_5-sha256" => Self::RsaV15Sha256,
            "hmac-sha256" => Self::HmacSha256,
            "ecdsa-p256-sha256" => Self::EcdsaP256Sha256,
            "ecdsa-p384-sha384" => Self::EcdsaP384Sha384,
            "ed25519" => Self::Ed25519,
            other => return Err(SigError::UnknownAlgorithm(other.into())),
        })
    }

    /// The algorithm a Tamga key of kind `k` signs with.
    pub fn for_key(k: tamga_keys::KeyAlgorithm) -> Self {
        use tamga_keys::KeyAlgorithm as K;
        match k {
            K::EcP256 => Self::EcdsaP256Sha256,
            K::EcP384 => Self::EcdsaP384Sha384,
            K::Ed25519 => Self::Ed25519,
            K::Rsa2048 | K::Rsa3072 | K::Rsa4096 => Self::RsaV15Sha256,
        }
    }
}

/// A covered component: its name (a lowercase field name or `@`-derived name) and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// The component name.
    pub name: String,
    /// Its parameters (`req`, `key`, `name`, ...).
    pub params: Params,
}

impl Component {
    /// A component without parameters.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            params: Vec::new(),
        }
    }

    /// The same component taken from the request (`;req`, §2.4).
    pub fn req(mut self) -> Self {
        self.params.push(("req".into(), Bare::Boolean(true)));
        self
    }

    /// A dictionary member of a field (`;key="..."`, §2.1.2).
    pub fn key(mut self, key: &str) -> Self {
        self.params.push(("key".into(), Bare::String(key.into())));
        self
    }

    fn param(&self, name: &str) -> Option<&Bare> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn identifier(&self) -> String {
        let mut out = String::new();
        sfv::serialize_item(
            &Item {
                bare: Bare::String(self.name.clone()),
                params: self.params.clone(),
            },
            &mut out,
        );
        out
    }
}

/// The signature parameters: covered components and metadata (§2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignatureParams {
    /// Covered components, in order.
    pub components: Vec<Component>,
    /// `created`, `expires`, `nonce`, `alg`, `keyid`, `tag`, in order.
    pub params: Params,
}

impl SignatureParams {
    fn get(&self, name: &str) -> Option<&Bare> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    fn int(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(Bare::Integer(i)) => Some(*i),
            _ => None,
        }
    }
    fn string(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Bare::String(s)) => Some(s),
            _ => None,
        }
    }
    /// `created`, Unix seconds.
    pub fn created(&self) -> Option<i64> {
        self.int("created")
    }
    /// `expires`, Unix seconds.
    pub fn expires(&self) -> Option<i64> {
        self.int("expires")
    }
    /// `nonce`.
    pub fn nonce(&self) -> Option<&str> {
        self.string("nonce")
    }
    /// `keyid`.
    pub fn keyid(&self) -> Option<&str> {
        self.string("keyid")
    }
    /// `alg`.
    pub fn alg(&self) -> Option<&str> {
        self.string("alg")
    }
    /// `tag`.
    pub fn tag(&self) -> Option<&str> {
        self.string("tag")
    }

    /// Whether `c` is covered (same name and parameters).
    pub fn covers(&self, c: &Component) -> bool {
        self.components.iter().any(|x| x == c)
    }

    /// The inner list as it appears in `Signature-Input` and `@signature-params`.
    pub fn serialize(&self) -> String {
        let mut out = String::new();
        sfv::serialize_member(&self.to_member(), &mut out);
        out
    }

    fn to_member(&self) -> Member {
        Member::InnerList(
            self.components
                .iter()
                .map(|c| Item {
                    bare: Bare::String(c.name.clone()),
                    params: c.params.clone(),
                })
                .collect(),
            self.params.clone(),
        )
    }

    fn from_member(m: &Member) -> Result<Self, SigError> {
        let Member::InnerList(items, params) = m else {
            return Err(SigError::Malformed(
                "Signature-Input member is not an inner list".into(),
            ));
        };
        let mut components = Vec::with_capacity(items.len());
        for i in items {
            let Bare::String(name) = &i.bare else {
                return Err(SigError::Malformed(
                    "component identifiers are strings".into(),
                ));
            };
            let c = Component {
                name: name.clone(),
                params: i.params.clone(),
            };
            if components.contains(&c) {
                return Err(SigError::Malformed(format!(
                    "{} covered twice",
                    c.identifier()
                )));
            }
            components.push(c);
        }
        Ok(Self {
            components,
            params: params.clone(),
        })
    }
}

/// One HTTP message as the signature base sees it.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    /// A request: method, absolute target URI, fields.
    Request {
        /// Method.
        method: &'a str,
        /// The absolute target URI (`https://host/path?query`).
        target_uri: &'a str,
        /// Fields.
        headers: &'a HeaderMap,
    },
    /// A response: status and fields.
    Response {
        /// Status code.
        status: u16,
        /// Fields.
        headers: &'a HeaderMap,
    },
}

impl<'a> Message<'a> {
    fn headers(&self) -> &'a HeaderMap {
        match self {
            Self::Request { headers, .. } | Self::Response { headers, .. } => headers,
        }
    }
}

/// `scheme`, `authority`, `path`, `query` of an absolute URI (RFC 3986 §3), borrowing.
fn split_uri(uri: &str) -> Result<(&str, &str, &str, Option<&str>), SigError> {
    let bad = || SigError::Malformed(format!("target URI {uri:?} is not absolute"));
    let (scheme, rest) = uri.split_once("://").ok_or_else(bad)?;
    let (hier, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let hier = hier.split('#').next().unwrap_or(hier);
    let (authority, path) = match hier.find('/') {
        Some(i) => (&hier[..i], &hier[i..]),
        None => (hier, ""),
    };
    if scheme.is_empty() || authority.is_empty() {
        return Err(bad());
    }
    Ok((scheme, authority, path, query))
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn percent_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for &c in b {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

fn field_value(headers: &HeaderMap, c: &Component) -> Result<String, SigError> {
    for p in ["sf", "bs", "tr"] {
        if c.param(p).is_some() {
            return Err(SigError::Unsupported(format!("{} with ;{p}", c.name)));
        }
    }
    let mut values = headers.get_all(c.name.as_str()).iter().peekable();
    if values.peek().is_none() {
        return Err(SigError::MissingComponent(c.identifier()));
    }
    let mut joined = String::new();
    for (n, v) in values.enumerate() {
        let v = v
            .to_str()
            .map_err(|_| SigError::Malformed(format!("{} is not visible ASCII", c.name)))?;
        if n > 0 {
            joined.push_str(", ");
        }
        joined.push_str(v.trim_matches(|ch| ch == ' ' || ch == '\t'));
    }
    match c.param("key") {
        None => Ok(joined),
        Some(Bare::String(key)) => {
            let dict = sfv::parse_dictionary(&joined)
                .map_err(|e| SigError::Malformed(format!("{}: {e}", c.name)))?;
            let (_, member) = dict
                .iter()
                .find(|(k, _)| k == key)
                .ok_or_else(|| SigError::MissingComponent(c.identifier()))?;
            let mut out = String::new();
            sfv::serialize_member(member, &mut out);
            Ok(out)
        }
        Some(_) => Err(SigError::Malformed("key parameter is not a string".into())),
    }
}

fn component_value(c: &Component, msg: &Message<'_>) -> Result<String, SigError> {
    if !c.name.starts_with('@') {
        return field_value(msg.headers(), c);
    }
    if c.name == "@status" {
        return match msg {
            Message::Response { status, .. } => Ok(format!("{status:03}")),
            Message::Request { .. } => Err(SigError::MissingComponent(c.identifier())),
        };
    }
    let Message::Request {
        method, target_uri, ..
    } = msg
    else {
        return Err(SigError::MissingComponent(c.identifier()));
    };
    let (scheme, authority, path, query) = split_uri(target_uri)?;
    let path = if path.is_empty() { "/" } else { path };
    Ok(match c.name.as_str() {
        "@method" => (*method).to_owned(),
        "@target-uri" => (*target_uri).to_owned(),
        "@authority" => authority.to_ascii_lowercase(),
        "@scheme" => scheme.to_ascii_lowercase(),
        "@request-target" => match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        },
        "@path" => path.to_owned(),
        "@query" => format!("?{}", query.unwrap_or("")),
        "@query-param" => {
            let Some(Bare::String(name)) = c.param("name") else {
                return Err(SigError::Malformed(
                    "@query-param needs a name parameter".into(),
                ));
            };
            let want = percent_decode(name);
            let found = query.unwrap_or("").split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k) == want).then(|| percent_encode(&percent_decode(v)))
            });
            found.ok_or_else(|| SigError::MissingComponent(c.identifier()))?
        }
        other => return Err(SigError::Unsupported(other.into())),
    })
}

/// The signature base (§2.5) of `msg` for `params`; `req` is the request when `msg` is its
/// response and components carry `;req`.
pub fn signature_base(
    params: &SignatureParams,
    msg: &Message<'_>,
    req: Option<&Message<'_>>,
) -> Result<String, SigError> {
    let mut base = String::with_capacity(256);
    for c in &params.components {
        if c.name == "@signature-params" {
            return Err(SigError::Malformed(
                "@signature-params cannot be covered".into(),
            ));
        }
        let source = if c.param("req").is_some() {
            req.ok_or_else(|| SigError::MissingComponent(c.identifier()))?
        } else {
            msg
        };
        let mut plain = c.clone();
        plain.params.retain(|(k, _)| k != "req");
        let value = component_value(&plain, source)?;
        if value.contains('\n') || value.contains('\r') {
            return Err(SigError::Malformed(format!(
                "{} contains a line break",
                c.name
            )));
        }
        base.push_str(&c.identifier());
        base.push_str(": ");
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&params.serialize());
    Ok(base)
}

/// The `Signature-Input` and `Signature` dictionary members for one signature.
pub fn fields(label: &str, params: &SignatureParams, signature: &[u8]) -> (String, String) {
    let input = format!("{label}={}", params.serialize());
    let mut sig = format!("{label}=");
    sfv::serialize_bare(&Bare::Bytes(signature.to_vec()), &mut sig);
    (input, sig)
}

/// The parameters and signature bytes labelled `label` in a message's `Signature-Input` and
/// `Signature` fields.
pub fn find(headers: &HeaderMap, label: &str) -> Result<(SignatureParams, Vec<u8>), SigError> {
    let joined = |name: &str| -> Result<String, SigError> {
        let mut out = String::new();
        for (n, v) in headers.get_all(name).iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            out.push_str(
                v.to_str()
                    .map_err(|_| SigError::Malformed(format!("{name} is not ASCII")))?,
            );
        }
        if out.is_empty() {
            return Err(SigError::Malformed(format!("no {name} field")));
        }
        Ok(out)
    };
    let inputs = sfv::parse_dictionary(&joined("signature-input")?)
        .map_err(|e| SigError::Malformed(format!("Signature-Input: {e}")))?;
    let sigs = sfv::parse_dictionary(&joined("signature")?)
        .map_err(|e| SigError::Malformed(format!("Signature: {e}")))?;
    let (_, input) = inputs
        .iter()
        .find(|(k, _)| k == label)
        .ok_or_else(|| SigError::NoSuchLabel(label.into()))?;
    let (_, sig) = sigs
        .iter()
        .find(|(k, _)| k == label)
        .ok_or_else(|| SigError::NoSuchLabel(label.into()))?;
    let Member::Item(Item {
        bare: Bare::Bytes(bytes),
        ..
    }) = sig
    else {
        return Err(SigError::Malformed(
            "Signature member is not a byte sequence".into(),
        ));
    };
    Ok((SignatureParams::from_member(input)?, bytes.clone()))
}

/// Converts a DER `Ecdsa-Sig-Value` to the fixed `r || s` form of §3.3.4 (`n` bytes each).
pub fn ecdsa_der_to_fixed(der_sig: &[u8], n: usize) -> Result<Vec<u8>, SigError> {
    use der::Decode;
    #[derive(der::Sequence)]
    struct EcdsaSig<'a> {
        r: der::asn1::UintRef<'a>,
        s: der::asn1::UintRef<'a>,
    }
    let v = EcdsaSig::from_der(der_sig).map_err(|_| SigError::BadSignature)?;
    let mut out = vec![0u8; 2 * n];
    for (i, part) in [v.r.as_bytes(), v.s.as_bytes()].into_iter().enumerate() {
        if part.len() > n {
            return Err(SigError::BadSignature);
        }
        out[i * n + (n - part.len())..(i + 1) * n].copy_from_slice(part);
    }
    Ok(out)
}

/// Signs `base` with a Tamga key; ECDSA signatures come out in the fixed form.
pub fn sign(signer: &dyn tamga_keys::Signer, base: &[u8]) -> Result<Vec<u8>, SigError> {
    use tamga_keys::KeyAlgorithm as K;
    let k = signer.key_algorithm();
    let s = signer
        .sign(k.default_signature(), base)
        .map_err(|_| SigError::KeyMismatch("the signer"))?;
    match k {
        K::EcP256 => ecdsa_der_to_fixed(&s, 32),
        K::EcP384 => ecdsa_der_to_fixed(&s, 48),
        _ => Ok(s),
    }
}

/// Verifies `signature` over `base` with a public key (DER SubjectPublicKeyInfo, or for HMAC
/// the shared secret).
pub fn verify(alg: Algorithm, key: &[u8], base: &[u8], signature: &[u8]) -> Result<(), SigError> {
    let v: &'static dyn VerificationAlgorithm = match alg {
        Algorithm::RsaPssSha512 => &sig::RSA_PSS_2048_8192_SHA512,
        Algorithm::RsaV15Sha256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::EcdsaP256Sha256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::EcdsaP384Sha384 => &sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::Ed25519 => &sig::ED25519,
        Algorithm::HmacSha256 => {
            let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
            // hmac::verify compares in constant time.
            return aws_lc_rs::hmac::verify(&k, base, signature)
                .map_err(|_| SigError::BadSignature);
        }
    };
    let raw = spki_key_bits(key, alg)?;
    UnparsedPublicKey::new(v, raw)
        .verify(base, signature)
        .map_err(|_| SigError::BadSignature)
}

/// The subjectPublicKey bits of an SPKI (what aws-lc-rs verifies with), after checking the
/// key's algorithm fits `alg`. RSA-PSS keys (id-RSASSA-PSS) are accepted for PSS.
fn spki_key_bits(spki_der: &[u8], alg: Algorithm) -> Result<&[u8], SigError> {
    use der::Decode;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|_| SigError::KeyMismatch(alg.name()))?;
    let oid = spki.algorithm.oid;
    let rsa = const_oid::db::rfc5912::RSA_ENCRYPTION;
    let pss = const_oid::db::rfc5912::ID_RSASSA_PSS;
    let ok = match alg {
        Algorithm::RsaPssSha512 => oid == rsa || oid == pss,
        Algorithm::RsaV15Sha256 => oid == rsa,
        Algorithm::EcdsaP256Sha256 | Algorithm::EcdsaP384Sha384 => {
            oid == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY
        }
        Algorithm::Ed25519 => oid == const_oid::db::rfc8410::ID_ED_25519,
        Algorithm::HmacSha256 => false,
    };
    if !ok {
        return Err(SigError::KeyMismatch(alg.name()));
    }
    spki.subject_public_key
        .as_bytes()
        .ok_or(SigError::KeyMismatch(alg.name()))
}

/// Base64 of a signature (for records and logs).
pub fn b64(v: &[u8]) -> String {
    STANDARD.encode(v)
}
