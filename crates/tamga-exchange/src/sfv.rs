//! The part of RFC 8941 (Structured Field Values) that HTTP message signatures need:
//! dictionaries whose members are byte sequences or inner lists of strings with parameters
//! (`Signature-Input`, `Signature`, `Content-Digest`), parsed per §4.2 and serialized per §4.1.
//!
//! Bounded: at most [`MAX_MEMBERS`] dictionary members and [`MAX_ITEMS`] inner-list items, so a
//! hostile header cannot make the parser allocate without limit.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Most dictionary members accepted.
pub const MAX_MEMBERS: usize = 32;
/// Most items in one inner list.
pub const MAX_ITEMS: usize = 64;

/// A bare item (§3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bare {
    /// Integer (at most 15 digits).
    Integer(i64),
    /// String (printable ASCII).
    String(String),
    /// Token.
    Token(String),
    /// Byte sequence.
    Bytes(Vec<u8>),
    /// Boolean.
    Boolean(bool),
}

/// Parameters (§3.1.2), in order.
pub type Params = Vec<(String, Bare)>;

/// An item with parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The value.
    pub bare: Bare,
    /// Its parameters.
    pub params: Params,
}

/// A dictionary member value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// A single item.
    Item(Item),
    /// An inner list with its parameters.
    InnerList(Vec<Item>, Params),
}

/// A parse failure, with the byte offset where it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("structured field: {what} at byte {at}")]
pub struct SfvError {
    /// What was wrong.
    pub what: &'static str,
    /// Where.
    pub at: usize,
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err<T>(&self, what: &'static str) -> Result<T, SfvError> {
        Err(SfvError { what, at: self.i })
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }
    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn key(&mut self) -> Result<String, SfvError> {
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => {}
            _ => return self.err("a key must start with a lowercase letter or *"),
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, b'_' | b'-' | b'.' | b'*')
            {
                self.i += 1;
            } else {
                break;
            }
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    fn bare(&mut self) -> Result<Bare, SfvError> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => {
                self.i += 1;
                match self.peek() {
                    Some(b'0') => {
                        self.i += 1;
                        Ok(Bare::Boolean(false))
                    }
                    Some(b'1') => {
                        self.i += 1;
                        Ok(Bare::Boolean(true))
                    }
                    _ => self.err("a boolean is ?0 or ?1"),
                }
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => self.token(),
            _ => self.err("expected an item"),
        }
    }
    fn integer(&mut self) -> Result<Bare, SfvError> {
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let digits = &self.s[start..self.i];
        if digits.is_empty() || digits.len() > 15 {
            return self.err("an integer has 1 to 15 digits");
        }
        if self.peek() == Some(b'.') {
            return self.err("decimals are not accepted here");
        }
        let mut v: i64 = 0;
        for d in digits {
            v = v * 10 + i64::from(d - b'0');
        }
        Ok(Bare::Integer(if neg { -v } else { v }))
    }
    fn string(&mut self) -> Result<Bare, SfvError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return self.err("unterminated string"),
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c as char);
                            self.i += 1;
                        }
                        _ => return self.err("bad escape in string"),
                    }
                }
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Bare::String(out));
                }
                Some(c) if (0x20..0x7f).contains(&c) => {
                    out.push(c as char);
                    self.i += 1;
                }
                Some(_) => return self.err("non-printable character in string"),
            }
        }
    }
    fn token(&mut self) -> Result<Bare, SfvError> {
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c) {
                self.i += 1;
            } else {
                break;
            }
        }
        Ok(Bare::Token(
            String::from_utf8_lossy(&self.s[start..self.i]).into_owned(),
        ))
    }
    fn bytes(&mut self) -> Result<Bare, SfvError> {
        self.i += 1;
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b':' {
                break;
            }
            if !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=')) {
                return self.err("bad character in byte sequence");
            }
            self.i += 1;
        }
        if self.peek() != Some(b':') {
            return self.err("unterminated byte sequence");
        }
        let b64 = &self.s[start..self.i];
        self.i += 1;
        match STANDARD.decode(b64) {
            Ok(v) => Ok(Bare::Bytes(v)),
            Err(_) => self.err("byte sequence is not base64"),
        }
    }
    fn params(&mut self) -> Result<Params, SfvError> {
        let mut out: Params = Vec::new();
        while self.peek() == Some(b';') {
            self.i += 1;
            self.sp();
            let k = self.key()?;
            let v = if self.peek() == Some(b'=') {
                self.i += 1;
                self.bare()?
            } else {
                Bare::Boolean(true)
            };
            if out.len() >= MAX_ITEMS {
                return self.err("too many parameters");
            }
            // §4.2.3.2: a repeated key overwrites the earlier value.
            if let Some(slot) = out.iter_mut().find(|(n, _)| *n == k) {
                slot.1 = v;
            } else {
                out.push((k, v));
            }
        }
        Ok(out)
    }
    fn item(&mut self) -> Result<Item, SfvError> {
        let bare = self.bare()?;
        let params = self.params()?;
        Ok(Item { bare, params })
    }
    fn member(&mut self) -> Result<Member, SfvError> {
        if self.peek() == Some(b'(') {
            self.i += 1;
            let mut items = Vec::new();
            loop {
                self.sp();
                if self.peek() == Some(b')') {
                    self.i += 1;
                    let params = self.params()?;
                    return Ok(Member::InnerList(items, params));
                }
                if items.len() >= MAX_ITEMS {
                    return self.err("too many items in an inner list");
                }
                items.push(self.item()?);
                match self.peek() {
                    Some(b' ' | b')') => {}
                    _ => return self.err("inner list items are separated by spaces"),
                }
            }
        }
        Ok(Member::Item(self.item()?))
    }
}

/// Parses a dictionary (§4.2.2). Several field lines are joined with `,` by the caller.
pub fn parse_dictionary(text: &str) -> Result<Vec<(String, Member)>, SfvError> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let mut out: Vec<(String, Member)> = Vec::new();
    p.sp();
    if p.peek().is_none() {
        return Ok(out);
    }
    loop {
        let key = p.key()?;
        let member = if p.peek() == Some(b'=') {
            p.i += 1;
            p.member()?
        } else {
            let params = p.params()?;
            Member::Item(Item {
                bare: Bare::Boolean(true),
                params,
            })
        };
        if let Some(slot) = out.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = member;
        } else {
            if out.len() >= MAX_MEMBERS {
                return p.err("too many dictionary members");
            }
            out.push((key, member));
        }
        p.ows();
        match p.peek() {
            None => return Ok(out),
            Some(b',') => {
                p.i += 1;
                p.ows();
                if p.peek().is_none() {
                    return p.err("trailing comma");
                }
            }
            _ => return p.err("expected , between dictionary members"),
        }
    }
}

/// Serializes a bare item (§4.1.3).
pub fn serialize_bare(b: &Bare, out: &mut String) {
    match b {
        Bare::Integer(i) => out.push_str(&i.to_string()),
        Bare::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        Bare::Token(t) => out.push_str(t),
        Bare::Bytes(v) => {
            out.push(':');
            out.push_str(&STANDARD.encode(v));
            out.push(':');
        }
        Bare::Boolean(v) => out.push_str(if *v { "?1" } else { "?0" }),
    }
}

/// Serializes parameters (§4.1.1.2).
pub fn serialize_params(params: &Params, out: &mut String) {
    for (k, v) in params {
        out.push(';');
        out.push_str(k);
        if *v != Bare::Boolean(true) {
            out.push('=');
            serialize_bare(v, out);
        }
    }
}

/// Serializes an item with its parameters.
pub fn serialize_item(item: &Item, out: &mut String) {
    serialize_bare(&item.bare, out);
    serialize_params(&item.params, out);
}

/// Serializes a member value (an item or an inner list).
pub fn serialize_member(m: &Member, out: &mut String) {
    match m {
        Member::Item(i) => serialize_item(i, out),
        Member::InnerList(items, params) => {
            out.push('(');
            for (n, i) in items.iter().enumerate() {
                if n > 0 {
                    out.push(' ');
                }
                serialize_item(i, out);
            }
            out.push(')');
            serialize_params(params, out);
        }
    }
}

/// Whether `s` may be serialized as a string (printable ASCII only).
pub fn is_sf_string(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_signature_input() {
        let text = r#"sig1=("@method" "@target-uri" "content-digest";req);created=1618884473;keyid="k";nonce="x\"y""#;
        let d = parse_dictionary(text).expect("parses");
        let mut out = String::new();
        out.push_str(&d[0].0);
        out.push('=');
        serialize_member(&d[0].1, &mut out);
        assert_eq!(out, text);
    }

    #[test]
    fn refuses_malformed_input_precisely() {
        for bad in [
            "sig1=(\"a\"",
            "sig1=:not base64!:",
            "Sig=1",
            "a=1,",
            "a=1 b=2",
            "a=1234567890123456",
            "a=\"\u{7f}\"",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad:?} accepted");
        }
        let many: Vec<String> = (0..40).map(|i| format!("k{i}=1")).collect();
        assert!(parse_dictionary(&many.join(",")).is_err());
    }
}
