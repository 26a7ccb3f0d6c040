//! The embedded fonts: glyph ids and advance widths from the TrueType tables (`cmap`, `hmtx`,
//! `head`, `hhea`, `OS/2`), and the PDF objects that embed them (ISO 32000-1 §9.7.4, §9.10.3).

use std::collections::BTreeMap;

use crate::PdfaError;

/// Noto Sans Regular, Latin + Cyrillic subset (see `fonts/README.md`).
pub const NOTO_SANS_REGULAR: &[u8] = include_bytes!("../fonts/NotoSans-Regular.subset.ttf");
/// Noto Sans Bold, same subset.
pub const NOTO_SANS_BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.subset.ttf");
/// The same subsets as WOFF2, for web pages.
pub const NOTO_SANS_REGULAR_WOFF2: &[u8] = include_bytes!("../fonts/NotoSans-Regular.subset.woff2");
/// Bold, WOFF2.
pub const NOTO_SANS_BOLD_WOFF2: &[u8] = include_bytes!("../fonts/NotoSans-Bold.subset.woff2");

/// A TrueType font ready to measure text and to be embedded.
#[derive(Debug, Clone)]
pub struct Font {
    /// PostScript name (for `/BaseFont`).
    pub postscript_name: String,
    data: &'static [u8],
    units_per_em: f32,
    ascent: i16,
    descent: i16,
    cap_height: i16,
    bbox: [i16; 4],
    glyphs: BTreeMap<char, (u16, u16)>,
    missing: (u16, u16),
}

impl Font {
    /// Reads a TrueType font.
    pub fn parse(data: &'static [u8]) -> Result<Self, PdfaError> {
        let face =
            ttf_parser::Face::parse(data, 0).map_err(|e| PdfaError::Font(format!("{e:?}")))?;
        let mut glyphs = BTreeMap::new();
        if let Some(cmap) = face.tables().cmap {
            for sub in cmap.subtables {
                if !sub.is_unicode() {
                    continue;
                }
                sub.codepoints(|cp| {
                    if let (Some(c), Some(g)) = (char::from_u32(cp), sub.glyph_index(cp)) {
                        let w = face.glyph_hor_advance(g).unwrap_or(0);
                        glyphs.entry(c).or_insert((g.0, w));
                    }
                });
            }
        }
        let name = face
            .names()
            .into_iter()
            .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .and_then(|n| n.to_string())
            .unwrap_or_else(|| "NotoSans".into());
        let b = face.global_bounding_box();
        Ok(Font {
            postscript_name: name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect(),
            data,
            units_per_em: f32::from(face.units_per_em()),
            ascent: face.ascender(),
            descent: face.descender(),
            cap_height: face.capital_height().unwrap_or(face.ascender()),
            bbox: [b.x_min, b.y_min, b.x_max, b.y_max],
            missing: (
                0,
                face.glyph_hor_advance(ttf_parser::GlyphId(0))
                    .unwrap_or(500),
            ),
            glyphs,
        })
    }

    /// The regular face.
    pub fn regular() -> Result<Self, PdfaError> {
        Self::parse(NOTO_SANS_REGULAR)
    }

    /// The bold face.
    pub fn bold() -> Result<Self, PdfaError> {
        Self::parse(NOTO_SANS_BOLD)
    }

    /// Glyph id and advance (font units) of a character; `.notdef` when the font lacks it.
    pub fn glyph(&self, c: char) -> (u16, u16) {
        self.glyphs.get(&c).copied().unwrap_or(self.missing)
    }

    /// Whether every character of `s` has a glyph.
    pub fn covers(&self, s: &str) -> bool {
        s.chars().all(|c| self.glyphs.contains_key(&c))
    }

    /// Width of `s` at `size` points.
    pub fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| f32::from(self.glyph(c).1)).sum::<f32>() * size / self.units_per_em
    }

    fn scale(&self, v: i32) -> i32 {
        (v as f32 * 1000.0 / self.units_per_em).round() as i32
    }

    /// The text of `s` as an `Identity-H` hex string of glyph ids.
    pub fn encode(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len() * 4 + 2);
        out.push('<');
        for c in s.chars() {
            out.push_str(&format!("{:04X}", self.glyph(c).0));
        }
        out.push('>');
        out
    }

    /// The objects that embed this font: returns the `Type0` font dictionary; `add` is called
    /// with each object's body and returns its number.
    pub(crate) fn embed(
        &self,
        used: &BTreeMap<u16, char>,
        add: &mut dyn FnMut(Vec<u8>) -> usize,
    ) -> usize {
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(self.data, 6);
        let mut file = format!(
            "<< /Length {} /Length1 {} /Filter /FlateDecode >>\nstream\n",
            compressed.len(),
            self.data.len()
        )
        .into_bytes();
        file.extend_from_slice(&compressed);
        file.extend_from_slice(b"\nendstream");
        let file_no = add(file);
        let [x0, y0, x1, y1] = self.bbox.map(|v| self.scale(i32::from(v)));
        let descriptor = format!(
            "<< /Type /FontDescriptor /FontName /{name} /Flags 32 /FontBBox [{x0} {y0} {x1} {y1}] \
             /ItalicAngle 0 /Ascent {a} /Descent {d} /CapHeight {c} /StemV 80 /FontFile2 {file_no} 0 R >>",
            name = self.postscript_name,
            a = self.scale(i32::from(self.ascent)),
            d = self.scale(i32::from(self.descent)),
            c = self.scale(i32::from(self.cap_height)),
        );
        let descriptor_no = add(descriptor.into_bytes());
        let mut widths = String::from("[");
        for gid in used.keys() {
            let c = used[gid];
            let w = if *gid == self.missing.0 {
                self.missing.1
            } else {
                self.glyph(c).1
            };
            widths.push_str(&format!("{gid} [{}] ", self.scale(i32::from(w))));
        }
        widths.push(']');
        let cid = format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /FontDescriptor {descriptor_no} 0 R /DW {dw} /W {widths} /CIDToGIDMap /Identity >>",
            name = self.postscript_name,
            dw = self.scale(i32::from(self.missing.1)),
        );
        let cid_no = add(cid.into_bytes());
        let cmap = to_unicode(used);
        let cmap_no = add([
            format!("<< /Length {} >>\nstream\n", cmap.len()).into_bytes(),
            cmap.into_bytes(),
            b"\nendstream".to_vec(),
        ]
        .concat());
        add(format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H \
             /DescendantFonts [{cid_no} 0 R] /ToUnicode {cmap_no} 0 R >>",
            name = self.postscript_name
        )
        .into_bytes())
    }
}

/// A `ToUnicode` CMap (Adobe Technical Note #5411) for the glyphs used.
fn to_unicode(used: &BTreeMap<u16, char>) -> String {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let pairs: Vec<(&u16, &char)> = used.iter().filter(|(g, _)| **g != 0).collect();
    for chunk in pairs.chunks(100) {
        s.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (g, c) in chunk {
            let mut buf = [0u16; 2];
            let hex: String = c
                .encode_utf16(&mut buf)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            s.push_str(&format!("<{g:04X}> <{hex}>\n"));
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mongolian_letters_have_glyphs_in_both_faces() {
        for f in [Font::regular().unwrap(), Font::bold().unwrap()] {
            assert!(f.covers("Өө Үү Ёё ₮ №"), "{}", f.postscript_name);
            assert!(!f.covers("漢"), "a CJK glyph would mean the wrong subset");
            assert_ne!(f.glyph('Ө').0, f.glyph('О').0);
            assert!(f.width("Ү", 10.0) > 3.0);
        }
    }

    #[test]
    fn to_unicode_maps_each_glyph_back() {
        let f = Font::regular().unwrap();
        let mut used = BTreeMap::new();
        for c in "Өү".chars() {
            used.insert(f.glyph(c).0, c);
        }
        let m = to_unicode(&used);
        assert!(m.contains("<04E8>") && m.contains("<04AF>"), "{m}");
    }
}
