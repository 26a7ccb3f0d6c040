//! Stream filters needed to read a file's structure (ISO 32000-1 §7.4): FlateDecode with the
//! PNG predictors cross-reference streams use (§7.4.4.4). Output is bounded.

use crate::PdfError;
use crate::document::MAX_DECODED;
use crate::object::{Object, Stream};

/// The decoded bytes of `s`.
pub fn decode(s: &Stream) -> Result<Vec<u8>, PdfError> {
    let filters: Vec<&[u8]> = match s.dict.get(b"Filter") {
        None => vec![],
        Some(Object::Name(n)) => vec![n.as_slice()],
        Some(Object::Array(a)) => a.iter().filter_map(Object::as_name).collect(),
        Some(_) => {
            return Err(PdfError::Filter(
                "/Filter is neither a name nor an array".into(),
            ));
        }
    };
    let parms = match s.dict.get(b"DecodeParms") {
        Some(Object::Dict(d)) => Some(d.clone()),
        Some(Object::Array(a)) => a.first().and_then(|o| o.as_dict().cloned()),
        _ => None,
    };
    let mut data = s.data.clone();
    for f in filters {
        data = match f {
            b"FlateDecode" | b"Fl" => {
                let raw =
                    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&data, MAX_DECODED)
                        .map_err(|e| PdfError::Filter(format!("FlateDecode: {:?}", e.status)))?;
                match &parms {
                    Some(p) => unpredict(raw, p)?,
                    None => raw,
                }
            }
            other => {
                return Err(PdfError::Filter(format!(
                    "filter /{} is not supported for structural streams",
                    String::from_utf8_lossy(other)
                )));
            }
        };
    }
    Ok(data)
}

fn unpredict(data: Vec<u8>, parms: &crate::object::Dict) -> Result<Vec<u8>, PdfError> {
    let predictor = parms.int(b"Predictor").unwrap_or(1);
    if predictor < 10 {
        if predictor == 1 {
            return Ok(data);
        }
        return Err(PdfError::Filter(format!(
            "predictor {predictor} is not supported"
        )));
    }
    let columns = usize::try_from(parms.int(b"Columns").unwrap_or(1))
        .ok()
        .filter(|&c| (1..=1 << 20).contains(&c))
        .ok_or_else(|| PdfError::Filter("bad /Columns".into()))?;
    let colors = parms.int(b"Colors").unwrap_or(1).clamp(1, 32) as usize;
    let bpc = parms.int(b"BitsPerComponent").unwrap_or(8).clamp(1, 16) as usize;
    let bpp = (colors * bpc).div_ceil(8).max(1);
    let row = (columns * colors * bpc).div_ceil(8);
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row];
    for chunk in data.chunks(row + 1) {
        let Some((&kind, line)) = chunk.split_first() else {
            break;
        };
        let mut cur = line.to_vec();
        cur.resize(row, 0);
        for i in 0..row {
            let left = if i >= bpp { cur[i - bpp] } else { 0 };
            let up = prev[i];
            let ul = if i >= bpp { prev[i - bpp] } else { 0 };
            cur[i] = match kind {
                0 => cur[i],
                1 => cur[i].wrapping_add(left),
                2 => cur[i].wrapping_add(up),
                3 => cur[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => {
                    let p = i16::from(left) + i16::from(up) - i16::from(ul);
                    let (pa, pb, pc) = (
                        (p - i16::from(left)).abs(),
                        (p - i16::from(up)).abs(),
                        (p - i16::from(ul)).abs(),
                    );
                    let pred = if pa <= pb && pa <= pc {
                        left
                    } else if pb <= pc {
                        up
                    } else {
                        ul
                    };
                    cur[i].wrapping_add(pred)
                }
                _ => return Err(PdfError::Filter(format!("PNG filter type {kind}"))),
            };
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}
