//! C2SP signed notes (signed-note v1), checkpoints (tlog-checkpoint) and Ed25519 timestamped
//! cosignatures (tlog-cosignature v1, type 0x04). Keys are named by vkeys
//! (`name+hex(key id)+base64(type || public key)`); a note is accepted only when a known key's
//! signature verifies, and rejected when a known key's signature fails.

use base64::Engine;

use crate::merkle::Hash;

/// Why a note, a checkpoint or a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Not a signed note.
    #[error("malformed note: {0}")]
    Malformed(String),
    /// No signature from a trusted key verified.
    #[error("no signature from a trusted key verifies")]
    Unverified,
    /// A trusted key's signature failed (the note is forged or damaged).
    #[error("the signature of {0} does not verify")]
    BadSignature(String),
    /// A malformed verifier key.
    #[error("bad verifier key: {0}")]
    BadKey(String),
    /// A malformed checkpoint body.
    #[error("malformed checkpoint: {0}")]
    Checkpoint(String),
}

/// Most signatures a note may carry (the spec requires accepting at least 16).
const MAX_SIGNATURES: usize = 64;

/// Signature type bytes (signed-note §Signature types).
pub const TYPE_ED25519: u8 = 0x01;
/// Timestamped Ed25519 cosignature.
pub const TYPE_COSIGNATURE_V1: u8 = 0x04;

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// `— name base64(key id || signature)\n`.
    pub fn line(&self) -> String {
        let mut b = self.key_id.to_be_bytes().to_vec();
        b.extend_from_slice(&self.signature);
        format!(
            "\u{2014} {} {}\n",
            self.name,
            base64::engine::general_purpose::STANDARD.encode(b)
        )
    }
}

/// A signed note: its text (with the final newline) and its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    /// The signature lines.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note.
    pub fn parse(data: &[u8]) -> Result<Note, NoteError> {
        let bad = |w: &str| NoteError::Malformed(w.into());
        if data.len() > 1 << 20 {
            return Err(bad("larger than 1 MiB"));
        }
        let s = std::str::from_utf8(data).map_err(|_| bad("not UTF-8"))?;
        if s.chars().any(|c| (c as u32) < 0x20 && c != '\n') {
            return Err(bad("control characters"));
        }
        let split = s
            .rfind("\n\n")
            .ok_or_else(|| bad("no blank line before the signatures"))?;
        let text = &s[..split + 1];
        let sigs = &s[split + 2..];
        if !sigs.ends_with('\n') {
            return Err(bad("signature block does not end in a newline"));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or_else(|| bad("a signature line does not start with an em dash"))?;
            let (name, b64) = rest.split_once(' ').ok_or_else(|| bad("signature line"))?;
            if name.is_empty() || name.contains('+') || b64.contains(' ') {
                return Err(bad("bad key name in a signature line"));
            }
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| bad("signature is not base64"))?;
            if raw.len() < 5 {
                return Err(bad("signature too short"));
            }
            signatures.push(NoteSignature {
                name: name.into(),
                key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
                signature: raw[4..].to_vec(),
            });
            if signatures.len() > MAX_SIGNATURES {
                return Err(bad("too many signatures"));
            }
        }
        if signatures.is_empty() {
            return Err(bad("no signatures"));
        }
        Ok(Note {
            text: text.into(),
            signatures,
        })
    }

    /// The note as served: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.line());
        }
        s
    }

    /// Verifies the note against `verifiers`: unknown keys are ignored; a known key whose
    /// signature fails rejects the note; at least one known key must verify. Returns the
    /// verifiers that verified.
    pub fn verify<'v>(&self, verifiers: &'v [Verifier]) -> Result<Vec<&'v Verifier>, NoteError> {
        let mut ok = Vec::new();
        for sig in &self.signatures {
            for v in verifiers
                .iter()
                .filter(|v| v.name == sig.name && v.key_id == sig.key_id)
            {
                if v.verify(&self.text, &sig.signature) {
                    ok.push(v);
                } else {
                    return Err(NoteError::BadSignature(v.name.clone()));
                }
            }
        }
        if ok.is_empty() {
            return Err(NoteError::Unverified);
        }
        Ok(ok)
    }
}

/// `SHA-256(name || 0x0A || type || public key)[:4]`.
pub fn key_id(name: &str, kind: u8, public_key: &[u8]) -> u32 {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[kind]);
    ctx.update(public_key);
    let d = ctx.finish();
    u32::from_be_bytes([d.as_ref()[0], d.as_ref()[1], d.as_ref()[2], d.as_ref()[3]])
}

/// A trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// `TYPE_ED25519` or `TYPE_COSIGNATURE_V1`.
    pub kind: u8,
    /// The 32-byte Ed25519 public key.
    pub public_key: [u8; 32],
}

impl Verifier {
    /// A verifier for an Ed25519 key of `kind`.
    pub fn new(name: &str, kind: u8, public_key: [u8; 32]) -> Result<Self, NoteError> {
        if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
            return Err(NoteError::BadKey(format!("invalid key name {name:?}")));
        }
        if kind != TYPE_ED25519 && kind != TYPE_COSIGNATURE_V1 {
            return Err(NoteError::BadKey(format!(
                "unsupported signature type {kind:#04x}"
            )));
        }
        Ok(Verifier {
            name: name.into(),
            key_id: key_id(name, kind, &public_key),
            kind,
            public_key,
        })
    }

    /// Parses a vkey `name+hex(id)+base64(type || key)`.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let bad = |w: &str| NoteError::BadKey(w.into());
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+id+key"));
        };
        let id = u32::from_str_radix(id, 16).map_err(|_| bad("key id is not hex"))?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(key)
            .map_err(|_| bad("key is not base64"))?;
        let (&kind, pk) = raw.split_first().ok_or_else(|| bad("empty key"))?;
        let pk: [u8; 32] = pk
            .try_into()
            .map_err(|_| bad("an Ed25519 key has 32 bytes"))?;
        let v = Verifier::new(name, kind, pk)?;
        if v.key_id != id {
            return Err(bad("the key id does not match the key"));
        }
        Ok(v)
    }

    /// The vkey string.
    pub fn vkey(&self) -> String {
        let mut b = vec![self.kind];
        b.extend_from_slice(&self.public_key);
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            base64::engine::general_purpose::STANDARD.encode(b)
        )
    }

    fn verify(&self, text: &str, sig: &[u8]) -> bool {
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ED25519,
            self.public_key,
        );
        match self.kind {
            TYPE_ED25519 => key.verify(text.as_bytes(), sig).is_ok(),
            _ => {
                let Some((ts, s)) = sig.split_at_checked(8) else {
                    return false;
                };
                let t = u64::from_be_bytes(ts.try_into().unwrap_or([0; 8]));
                t != 0
                    && t < (1 << 63)
                    && key
                        .verify(cosignature_message(t, text).as_bytes(), s)
                        .is_ok()
            }
        }
    }
}

/// The message a v1 cosignature signs (tlog-cosignature §Ed25519 signed message).
pub fn cosignature_message(timestamp: u64, checkpoint_text: &str) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

/// The timestamp of a v1 cosignature.
pub fn cosignature_time(sig: &NoteSignature) -> Option<u64> {
    sig.signature
        .get(..8)
        .map(|b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
}

/// A checkpoint body (tlog-checkpoint): origin, size, root, extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// Extension lines (opaque).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            base64::engine::general_purpose::STANDARD.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a checkpoint body.
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let bad = |w: &str| NoteError::Checkpoint(w.into());
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("no final newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root, ext @ ..] = &lines[..] else {
            return Err(bad("fewer than three lines"));
        };
        if origin.is_empty() {
            return Err(bad("empty origin"));
        }
        if size.is_empty()
            || (size.len() > 1 && size.starts_with('0'))
            || !size.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad("size is not a decimal without leading zeroes"));
        }
        let size: u64 = size.parse().map_err(|_| bad("size out of range"))?;
        let root = base64::engine::general_purpose::STANDARD
            .decode(root)
            .map_err(|_| bad("root is not base64"))?;
        let root: Hash = root.try_into().map_err(|_| bad("root is not 32 bytes"))?;
        if ext.iter().any(|l| l.is_empty()) {
            return Err(bad("empty extension line"));
        }
        Ok(Checkpoint {
            origin: (*origin).into(),
            size,
            root,
            extensions: ext.iter().map(|s| (*s).into()).collect(),
        })
    }
}

/// Parses and verifies a signed checkpoint from `origin` with one of `log_keys`.
pub fn open_checkpoint(
    data: &[u8],
    origin: &str,
    log_keys: &[Verifier],
) -> Result<(Note, Checkpoint), NoteError> {
    let note = Note::parse(data)?;
    note.verify(log_keys)?;
    let cp = Checkpoint::parse(&note.text)?;
    if cp.origin != origin {
        return Err(NoteError::Checkpoint(format!(
            "origin is {:?}, expected {origin:?}",
            cp.origin
        )));
    }
    Ok((note, cp))
}

/// The raw 32-byte Ed25519 key out of a DER SubjectPublicKeyInfo (RFC 8410: the last 32 bytes).
pub fn ed25519_raw(spki_der: &[u8]) -> Option<[u8; 32]> {
    (spki_der.len() == 44
        && spki_der.starts_with(&[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70]))
    .then(|| spki_der[12..].try_into().ok())
    .flatten()
}
