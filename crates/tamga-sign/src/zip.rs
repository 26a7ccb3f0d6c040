//! ZIP (PKWARE APPNOTE 6.3) as ASiC containers (EN 319 162-1 §A) and evidence bundles need it:
//! written with stored entries (the `mimetype` entry must be stored and first), read with
//! stored or deflated entries under hard limits, so that a zip bomb, a path escaping the
//! container, a duplicate name or a damaged entry is an error and never a crash or a disk fill.

/// Why a ZIP file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    /// Not a ZIP file or a damaged one.
    #[error("malformed ZIP: {0}")]
    Malformed(String),
    /// A limit was exceeded (entries, sizes, compression ratio).
    #[error("ZIP refused: {0}")]
    Limit(String),
    /// A feature this reader does not support (ZIP64, encryption, other methods).
    #[error("unsupported ZIP feature: {0}")]
    Unsupported(String),
}

/// Limits for reading.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most entries.
    pub max_entries: usize,
    /// Most bytes once everything is inflated.
    pub max_total: usize,
    /// Largest inflated size per compressed byte (zip-bomb guard).
    pub max_ratio: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10_000,
            max_total: 512 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its path inside the container.
    pub name: String,
    /// Its bytes.
    pub data: Vec<u8>,
}

fn crc_table() -> &'static [u32; 256] {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    })
}

/// CRC-32 (ISO 3309), as ZIP uses it.
pub fn crc32(data: &[u8]) -> u32 {
    let t = crc_table();
    !data.iter().fold(!0u32, |c, &b| {
        t[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// Writes a ZIP of stored entries, in the order given.
pub fn write(entries: &[Entry]) -> Result<Vec<u8>, ZipError> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let too_big = || ZipError::Unsupported("entries over 4 GiB need ZIP64".into());
    for e in entries {
        let offset = u32::try_from(out.len()).map_err(|_| too_big())?;
        let size = u32::try_from(e.data.len()).map_err(|_| too_big())?;
        let name = e.name.as_bytes();
        let name_len =
            u16::try_from(name.len()).map_err(|_| ZipError::Limit("name too long".into()))?;
        let crc = crc32(&e.data);
        // Bit 11: names are UTF-8. DOS time/date: 1980-01-01 00:00 (reproducible output).
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes());
            v.extend_from_slice(&0x0800u16.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
            v.extend_from_slice(&0x21u16.to_le_bytes());
            v.extend_from_slice(&crc.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&name_len.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name);
        out.extend_from_slice(&e.data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        common(&mut central);
        central.extend_from_slice(&[0u8; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let cd_offset = u32::try_from(out.len()).map_err(|_| too_big())?;
    let cd_size = u32::try_from(central.len()).map_err(|_| too_big())?;
    let n = u16::try_from(entries.len()).map_err(|_| ZipError::Limit("too many entries".into()))?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

fn u16_at(d: &[u8], at: usize) -> Result<u16, ZipError> {
    d.get(at..at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| ZipError::Malformed(format!("truncated at byte {at}")))
}

fn u32_at(d: &[u8], at: usize) -> Result<u32, ZipError> {
    d.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| ZipError::Malformed(format!("truncated at byte {at}")))
}

/// A safe entry name: relative, no `..`, no backslashes or drive letters.
fn check_name(name: &str) -> Result<(), ZipError> {
    let bad = name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.split('/').any(|p| p == "..")
        || name.get(1..2) == Some(":");
    if bad {
        return Err(ZipError::Malformed(format!("unsafe entry name {name:?}")));
    }
    Ok(())
}

/// Reads every file entry (directories skipped), checking CRCs, names and limits.
pub fn read(data: &[u8], limits: Limits) -> Result<Vec<Entry>, ZipError> {
    // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
    let tail = data.len().saturating_sub(65_557);
    let eocd = (tail..data.len().saturating_sub(21))
        .rev()
        .find(|&i| data[i..].starts_with(&0x0605_4b50u32.to_le_bytes()))
        .ok_or_else(|| ZipError::Malformed("no end of central directory (not a ZIP?)".into()))?;
    let count = u16_at(data, eocd + 10)? as usize;
    let cd_size = u32_at(data, eocd + 12)? as usize;
    let cd_offset = u32_at(data, eocd + 16)? as usize;
    if count == 0xffff || cd_offset == 0xffff_ffff {
        return Err(ZipError::Unsupported("ZIP64".into()));
    }
    if count > limits.max_entries {
        return Err(ZipError::Limit(format!(
            "{count} entries (limit {})",
            limits.max_entries
        )));
    }
    if cd_offset.checked_add(cd_size).is_none_or(|e| e > eocd) {
        return Err(ZipError::Malformed(
            "central directory outside the file".into(),
        ));
    }
    let mut pos = cd_offset;
    let mut out: Vec<Entry> = Vec::with_capacity(count);
    let mut total = 0usize;
    for _ in 0..count {
        if u32_at(data, pos)? != 0x0201_4b50 {
            return Err(ZipError::Malformed(format!(
                "bad central directory entry at {pos}"
            )));
        }
        let flags = u16_at(data, pos + 8)?;
        let method = u16_at(data, pos + 10)?;
        let crc = u32_at(data, pos + 16)?;
        let csize = u32_at(data, pos + 20)? as usize;
        let usize_ = u32_at(data, pos + 24)? as usize;
        let name_len = u16_at(data, pos + 28)? as usize;
        let extra_len = u16_at(data, pos + 30)? as usize;
        let comment_len = u16_at(data, pos + 32)? as usize;
        let local = u32_at(data, pos + 42)? as usize;
        let name_bytes = data
            .get(pos + 46..pos + 46 + name_len)
            .ok_or_else(|| ZipError::Malformed("truncated name".into()))?;
        let name = String::from_utf8(name_bytes.to_vec())
            .map_err(|_| ZipError::Malformed("entry name is not UTF-8".into()))?;
        pos += 46 + name_len + extra_len + comment_len;
        if flags & 1 != 0 {
            return Err(ZipError::Unsupported(format!("{name} is encrypted")));
        }
        if name.ends_with('/') {
            continue;
        }
        check_name(&name)?;
        if out.iter().any(|e| e.name == name) {
            return Err(ZipError::Malformed(format!("duplicate entry {name}")));
        }
        total = total.saturating_add(usize_);
        if total > limits.max_total {
            return Err(ZipError::Limit(format!(
                "more than {} bytes once inflated",
                limits.max_total
            )));
        }
        if usize_
            > csize
                .saturating_mul(limits.max_ratio)
                .saturating_add(1 << 20)
        {
            return Err(ZipError::Limit(format!(
                "{name}: compression ratio above {} (zip bomb?)",
                limits.max_ratio
            )));
        }
        if u32_at(data, local)? != 0x0403_4b50 {
            return Err(ZipError::Malformed(format!("{name}: bad local header")));
        }
        let start =
            local + 30 + u16_at(data, local + 26)? as usize + u16_at(data, local + 28)? as usize;
        let raw = data
            .get(start..start.saturating_add(csize))
            .ok_or_else(|| ZipError::Malformed(format!("{name}: data outside the file")))?;
        let bytes = match method {
            0 => raw.to_vec(),
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(raw, usize_)
                .map_err(|e| ZipError::Malformed(format!("{name}: inflate: {:?}", e.status)))?,
            m => {
                return Err(ZipError::Unsupported(format!(
                    "{name}: compression method {m}"
                )));
            }
        };
        if bytes.len() != usize_ {
            return Err(ZipError::Malformed(format!(
                "{name}: size differs from the directory"
            )));
        }
        if crc32(&bytes) != crc {
            return Err(ZipError::Malformed(format!(
                "{name}: CRC mismatch (damaged)"
            )));
        }
        out.push(Entry { name, data: bytes });
    }
    Ok(out)
}

/// The name of the first entry as stored (ASiC requires `mimetype` first and uncompressed).
pub fn first_entry_stored(data: &[u8]) -> Option<(String, bool)> {
    if u32_at(data, 0).ok()? != 0x0403_4b50 {
        return None;
    }
    let method = u16_at(data, 8).ok()?;
    let name_len = u16_at(data, 26).ok()? as usize;
    let name = String::from_utf8(data.get(30..30 + name_len)?.to_vec()).ok()?;
    Some((name, method == 0))
}
