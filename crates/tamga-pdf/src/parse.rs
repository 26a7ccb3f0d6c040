//! Object syntax (ISO 32000-1 §7.2 lexical conventions, §7.3 objects), bounded: nesting depth,
//! string and stream sizes are limited so hostile files cannot exhaust the stack or memory.

use crate::PdfError;
use crate::object::{Dict, ObjRef, Object, Stream};

const MAX_DEPTH: usize = 64;

pub(crate) fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

pub(crate) fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// A cursor over the file's bytes.
pub(crate) struct Parser<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Parser<'a> {
    /// A cursor at `pos` (an offset from the file itself, so possibly past its end: then the
    /// cursor sits at the end and every read reports the truncation).
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Parser {
            data,
            pos: pos.min(data.len()),
        }
    }

    fn err(&self, what: &str) -> PdfError {
        PdfError::Syntax {
            offset: self.pos,
            what: what.to_string(),
        }
    }

    pub(crate) fn skip_ws(&mut self) {
        while let Some(&b) = self.data.get(self.pos) {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(&c) = self.data.get(self.pos) {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A regular-character token (keyword or number).
    pub(crate) fn token(&mut self) -> &'a [u8] {
        self.skip_ws();
        let start = self.pos;
        while let Some(&b) = self.data.get(self.pos) {
            if is_white(b) || is_delim(b) {
                break;
            }
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    pub(crate) fn expect_keyword(&mut self, kw: &[u8]) -> Result<(), PdfError> {
        let t = self.token();
        if t == kw {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{}`", String::from_utf8_lossy(kw))))
        }
    }

    pub(crate) fn uint(&mut self) -> Result<u64, PdfError> {
        let t = self.token();
        std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.err("expected an unsigned integer"))
    }

    /// `n g obj <object> endobj` at the cursor; stream lengths come from `length`.
    pub(crate) fn indirect(
        &mut self,
        length: &dyn Fn(&Object) -> Option<usize>,
    ) -> Result<(ObjRef, Object), PdfError> {
        let num = self.uint()?;
        let gen_ = self.uint()?;
        self.expect_keyword(b"obj")?;
        let obj = self.object(0)?;
        let obj = match obj {
            Object::Dict(d) => {
                let save = self.pos;
                let t = self.token();
                if t == b"stream" {
                    Object::Stream(self.stream_body(d, length)?)
                } else {
                    self.pos = save;
                    Object::Dict(d)
                }
            }
            o => o,
        };
        let r = ObjRef {
            num: u32::try_from(num).map_err(|_| self.err("object number too large"))?,
            gen_: u16::try_from(gen_).map_err(|_| self.err("generation too large"))?,
        };
        Ok((r, obj))
    }

    fn stream_body(
        &mut self,
        dict: Dict,
        length: &dyn Fn(&Object) -> Option<usize>,
    ) -> Result<Stream, PdfError> {
        // After `stream`: CRLF or LF (§7.3.8.1).
        if self.data.get(self.pos) == Some(&b'\r') {
            self.pos += 1;
        }
        if self.data.get(self.pos) == Some(&b'\n') {
            self.pos += 1;
        }
        let start = self.pos;
        let declared = dict.get(b"Length").and_then(length);
        let declared_ok = |n: usize| {
            start
                .checked_add(n)
                .filter(|&e| e <= self.data.len())
                .is_some_and(|e| {
                    let tail = &self.data[e..self.data.len().min(e + 12)];
                    find(tail, b"endstream").is_some_and(|p| p <= 3)
                })
        };
        let end = match declared {
            Some(n) if declared_ok(n) => start + n,
            // A wrong /Length: fall back to the endstream keyword, as every reader does.
            _ => {
                let p = find(&self.data[start..], b"endstream")
                    .ok_or_else(|| self.err("stream without endstream"))?;
                let mut e = start + p;
                if e > start && self.data[e - 1] == b'\n' {
                    e -= 1;
                }
                if e > start && self.data[e - 1] == b'\r' {
                    e -= 1;
                }
                e
            }
        };
        self.pos = end;
        self.expect_keyword(b"endstream")?;
        Ok(Stream {
            dict,
            data: self.data[start..end].to_vec(),
        })
    }

    /// One direct object (references `n g R` included).
    pub(crate) fn object(&mut self, depth: usize) -> Result<Object, PdfError> {
        if depth > MAX_DEPTH {
            return Err(self.err("objects nested too deeply"));
        }
        self.skip_ws();
        let Some(&b) = self.data.get(self.pos) else {
            return Err(self.err("unexpected end of file"));
        };
        match b {
            b'/' => {
                self.pos += 1;
                let start = self.pos;
                while let Some(&c) = self.data.get(self.pos) {
                    if is_white(c) || is_delim(c) {
                        break;
                    }
                    self.pos += 1;
                }
                Ok(Object::Name(decode_name(&self.data[start..self.pos])))
            }
            b'(' => self.literal_string().map(Object::String),
            b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                let mut d = Dict::default();
                loop {
                    self.skip_ws();
                    match self.data.get(self.pos) {
                        Some(b'>') if self.data.get(self.pos + 1) == Some(&b'>') => {
                            self.pos += 2;
                            return Ok(Object::Dict(d));
                        }
                        Some(b'/') => {
                            let Object::Name(k) = self.object(depth + 1)? else {
                                return Err(self.err("dictionary key is not a name"));
                            };
                            let v = self.object(depth + 1)?;
                            // Duplicate keys: the first wins, as in most readers.
                            if d.get(&k).is_none() {
                                d.0.push((k, v));
                            }
                        }
                        _ => return Err(self.err("malformed dictionary")),
                    }
                }
            }
            b'<' => self.hex_string().map(Object::String),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.data.get(self.pos) {
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Object::Array(items));
                        }
                        None => return Err(self.err("unterminated array")),
                        _ => items.push(self.object(depth + 1)?),
                    }
                }
            }
            _ => {
                let start = self.pos;
                let t = self.token();
                if t.is_empty() {
                    self.pos = start;
                    return Err(self.err("unexpected delimiter"));
                }
                match t {
                    b"null" => return Ok(Object::Null),
                    b"true" => return Ok(Object::Bool(true)),
                    b"false" => return Ok(Object::Bool(false)),
                    _ => {}
                }
                let s = std::str::from_utf8(t).map_err(|_| self.err("bad token"))?;
                if let Ok(i) = s.parse::<i64>() {
                    // Maybe `n g R`.
                    let save = self.pos;
                    if i >= 0 {
                        let g = self.token();
                        if let Some(g) = std::str::from_utf8(g)
                            .ok()
                            .and_then(|g| g.parse::<u16>().ok())
                        {
                            let r = self.token();
                            if r == b"R"
                                && let Ok(num) = u32::try_from(i)
                            {
                                return Ok(Object::Ref(ObjRef { num, gen_: g }));
                            }
                        }
                    }
                    self.pos = save;
                    return Ok(Object::Int(i));
                }
                if let Ok(r) = s.parse::<f64>() {
                    return Ok(Object::Real(r));
                }
                self.pos = start;
                Err(self.err(&format!("unexpected token `{}`", s.escape_default())))
            }
        }
    }

    fn literal_string(&mut self) -> Result<Vec<u8>, PdfError> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut depth = 1usize;
        loop {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(out);
                    }
                    out.push(b);
                }
                b'\\' => {
                    let Some(&e) = self.data.get(self.pos) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.data.get(self.pos) == Some(&b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.data.get(self.pos) {
                                    Some(&d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
    }

    fn hex_string(&mut self) -> Result<Vec<u8>, PdfError> {
        self.pos += 1;
        // Fast path for the common case (a signature's /Contents: tens of kilobytes of
        // unbroken hex digits): decode pairs through a table up to the first other byte.
        let rest = &self.data[self.pos..];
        let run = rest
            .iter()
            .take_while(|&&b| HEX[b as usize] != 0xff)
            .count()
            & !1;
        let mut out = Vec::with_capacity(run / 2 + 16);
        out.extend(
            rest[..run]
                .chunks_exact(2)
                .map(|p| (HEX[p[0] as usize] << 4) | HEX[p[1] as usize]),
        );
        self.pos += run;
        let mut half: Option<u8> = None;
        loop {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(self.err("unterminated hex string"));
            };
            self.pos += 1;
            let v = match b {
                b'>' => {
                    if let Some(h) = half {
                        out.push(h << 4);
                    }
                    return Ok(out);
                }
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                w if is_white(w) => continue,
                _ => return Err(self.err("bad character in hex string")),
            };
            match half.take() {
                Some(h) => out.push(h << 4 | v),
                None => half = Some(v),
            }
        }
    }
}

/// Hex digit values; 0xff for anything else.
pub(crate) static HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn decode_name(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'#'
            && i + 2 < raw.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&raw[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

/// The first position of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The last position of `needle` in `hay`.
pub(crate) fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).rposition(|w| w == needle)
}
