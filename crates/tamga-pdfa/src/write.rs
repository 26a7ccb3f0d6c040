//! Layout (A4, word-wrapped blocks, a QR code in the top right corner of the first page) and
//! the file itself (ISO 32000-1 §7.5: header, objects, cross-reference table, trailer).

use std::collections::BTreeMap;

use crate::{Font, PdfaError};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;
const MAX_PAGES: usize = 50;
const QR_SIZE: f32 = 96.0;

/// One block of the document, top to bottom.
#[derive(Debug, Clone)]
pub enum Block {
    /// The document's title (bold, large).
    Title(String),
    /// A section heading (bold).
    Heading(String),
    /// A paragraph, wrapped.
    Text(String),
    /// Small print, wrapped.
    Small(String),
    /// A label and its value on one line (the value wraps).
    Field(String, String),
    /// A thin horizontal rule.
    Rule,
    /// Vertical space in points.
    Gap(f32),
}

/// What to write.
#[derive(Debug, Clone)]
pub struct DocumentSpec {
    /// Title (XMP `dc:title`).
    pub title: String,
    /// Who issues it (XMP `dc:creator`).
    pub author: String,
    /// Natural language (`/Lang`, BCP 47, e.g. `mn`).
    pub lang: String,
    /// Creation time, Unix seconds (XMP `xmp:CreateDate`).
    pub created_unix: i64,
    /// The content.
    pub blocks: Vec<Block>,
    /// A QR code for the first page: its payload (a URL) and a caption under it.
    pub qr: Option<(String, String)>,
    /// Text at the foot of every page (after the page number).
    pub footer: Option<String>,
}

struct Fonts {
    regular: Font,
    bold: Font,
    used: [BTreeMap<u16, char>; 2],
}

impl Fonts {
    fn show(&mut self, bold: bool, size: f32, x: f32, y: f32, s: &str) -> String {
        let i = usize::from(bold);
        let f = if bold { &self.bold } else { &self.regular };
        for c in s.chars() {
            self.used[i].entry(f.glyph(c).0).or_insert(c);
        }
        format!(
            "BT /F{} {size:.1} Tf {x:.2} {y:.2} Td {} Tj ET\n",
            i + 1,
            f.encode(s)
        )
    }

    fn font(&self, bold: bool) -> &Font {
        if bold { &self.bold } else { &self.regular }
    }
}

/// Breaks `text` into lines no wider than `width` (words longer than a line are cut).
fn wrap(font: &Font, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ') {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if font.width(&candidate, size) <= width || line.is_empty() && word.is_empty() {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the line is cut where it must be.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if font.width(&piece, size) > width {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

struct Layout {
    pages: Vec<String>,
    y: f32,
    /// Lines above this y must leave room for the QR code (first page only).
    qr_bottom: f32,
}

impl Layout {
    fn width_at(&self, y: f32) -> f32 {
        let full = PAGE_W - 2.0 * MARGIN;
        if self.pages.len() == 1 && y > self.qr_bottom {
            full - QR_SIZE - 16.0
        } else {
            full
        }
    }

    fn need(&mut self, h: f32) -> Result<(), PdfaError> {
        if self.y - h < MARGIN + 24.0 {
            if self.pages.len() >= MAX_PAGES {
                return Err(PdfaError::TooLong(MAX_PAGES));
            }
            self.pages.push(String::new());
            self.y = PAGE_H - MARGIN;
        }
        self.y -= h;
        Ok(())
    }

    fn out(&mut self, s: &str) {
        if let Some(p) = self.pages.last_mut() {
            p.push_str(s);
        }
    }
}

/// Lays out and writes the document.
pub fn render(spec: &DocumentSpec) -> Result<Vec<u8>, PdfaError> {
    let mut fonts = Fonts {
        regular: Font::regular()?,
        bold: Font::bold()?,
        used: [BTreeMap::new(), BTreeMap::new()],
    };
    let mut l = Layout {
        pages: vec![String::new()],
        y: PAGE_H - MARGIN,
        qr_bottom: PAGE_H,
    };
    if let Some((payload, caption)) = &spec.qr {
        let code =
            qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
                .map_err(|e| PdfaError::Qr(e.to_string()))?;
        let n = code.width();
        let module = QR_SIZE / n as f32;
        let x0 = PAGE_W - MARGIN - QR_SIZE;
        let y_top = PAGE_H - MARGIN;
        let mut ops = String::from("q 0 g\n");
        for (i, c) in code.to_colors().iter().enumerate() {
            if *c == qrcode::Color::Dark {
                let (col, row) = (i % n, i / n);
                ops.push_str(&format!(
                    "{:.3} {:.3} {:.3} {:.3} re\n",
                    x0 + col as f32 * module,
                    y_top - (row + 1) as f32 * module,
                    module,
                    module
                ));
            }
        }
        ops.push_str("f Q\n");
        l.out(&ops);
        let mut y = y_top - QR_SIZE - 10.0;
        for line in wrap(&fonts.regular, caption, 7.0, QR_SIZE + 8.0) {
            let s = fonts.show(false, 7.0, x0 - 4.0, y, &line);
            l.out(&s);
            y -= 9.0;
        }
        l.qr_bottom = y;
    }
    for b in &spec.blocks {
        let (bold, size, lead, text, label) = match b {
            Block::Title(t) => (true, 17.0, 22.0, t.as_str(), None),
            Block::Heading(t) => {
                l.need(8.0)?;
                (true, 11.5, 16.0, t.as_str(), None)
            }
            Block::Text(t) => (false, 10.0, 14.0, t.as_str(), None),
            Block::Small(t) => (false, 8.0, 10.5, t.as_str(), None),
            Block::Field(k, v) => (false, 10.0, 14.0, v.as_str(), Some(k.as_str())),
            Block::Rule => {
                l.need(10.0)?;
                let y = l.y + 4.0;
                let s = format!(
                    "q 0.6 g {MARGIN:.2} {y:.2} {:.2} 0.6 re f Q\n",
                    PAGE_W - 2.0 * MARGIN
                );
                l.out(&s);
                continue;
            }
            Block::Gap(h) => {
                l.need(h.clamp(0.0, 200.0))?;
                continue;
            }
        };
        let indent = if label.is_some() { 170.0 } else { 0.0 };
        let width = l.width_at(l.y - lead) - indent;
        let lines = wrap(fonts.font(bold), text, size, width);
        for (i, line) in lines.iter().enumerate() {
            l.need(lead)?;
            let y = l.y;
            if i == 0
                && let Some(k) = label
            {
                for (j, kl) in wrap(&fonts.bold, k, 9.0, indent - 8.0)
                    .iter()
                    .enumerate()
                    .take(2)
                {
                    let s = fonts.show(true, 9.0, MARGIN, y - j as f32 * 11.0, kl);
                    l.out(&s);
                }
            }
            let s = fonts.show(bold, size, MARGIN + indent, y, line);
            l.out(&s);
        }
        if let Some(k) = label {
            // A label on two lines needs the room of two, whatever the value's length.
            let label_lines = wrap(&fonts.bold, k, 9.0, indent - 8.0).len().min(2);
            let below = (label_lines as f32 - 1.0) * 11.0 - (lines.len() as f32 - 1.0) * lead;
            l.need(3.0 + below.max(0.0))?;
        }
        if matches!(b, Block::Title(_)) {
            l.need(5.0)?;
        }
    }
    let total = l.pages.len();
    let footer = spec.footer.clone().unwrap_or_default();
    for (i, p) in l.pages.iter_mut().enumerate() {
        let text = format!("{} / {total}   {footer}", i + 1);
        for (j, line) in wrap(&fonts.regular, &text, 7.0, PAGE_W - 2.0 * MARGIN)
            .iter()
            .enumerate()
            .take(3)
        {
            let s = fonts.show(false, 7.0, MARGIN, MARGIN - j as f32 * 9.0, line);
            p.push_str(&s);
        }
    }
    Ok(write_file(spec, &l.pages, &fonts))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn iso8601(unix: i64) -> String {
    let (y, m, d) = civil(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn xmp(spec: &DocumentSpec) -> String {
    let date = iso8601(spec.created_unix);
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" \
xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n\
<pdfaid:part>2</pdfaid:part>\n<pdfaid:conformance>B</pdfaid:conformance>\n\
<dc:format>application/pdf</dc:format>\n\
<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title>\n\
<dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>\n\
<xmp:CreateDate>{date}</xmp:CreateDate>\n<xmp:ModifyDate>{date}</xmp:ModifyDate>\n\
<xmp:MetadataDate>{date}</xmp:MetadataDate>\n\
<xmp:CreatorTool>Tamga</xmp:CreatorTool>\n<pdf:Producer>Tamga</pdf:Producer>\n\
</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>",
        title = xml_escape(&spec.title),
        author = xml_escape(&spec.author),
    )
}

/// A 128-bit FNV-1a of the content: the file identifier need only be unique, not secret.
fn file_id(parts: &[&[u8]]) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for p in parts {
        for b in *p {
            h ^= u128::from(*b);
            h = h.wrapping_mul(0x0000000001000000000000000000013B);
        }
    }
    format!("{h:032X}")
}

fn stream(dict_extra: &str, data: &[u8], compress: bool) -> Vec<u8> {
    let (body, filter) = if compress {
        (
            miniz_oxide::deflate::compress_to_vec_zlib(data, 6),
            " /Filter /FlateDecode",
        )
    } else {
        (data.to_vec(), "")
    };
    [
        format!("<< /Length {}{filter}{dict_extra} >>\nstream\n", body.len()).into_bytes(),
        body,
        b"\nendstream".to_vec(),
    ]
    .concat()
}

fn write_file(spec: &DocumentSpec, pages: &[String], fonts: &Fonts) -> Vec<u8> {
    // Objects 1–3 are the catalog, the page tree and the metadata; the rest follow.
    let mut objs: Vec<Vec<u8>> = vec![Vec::new(), Vec::new(), Vec::new()];
    objs[2] = stream(
        " /Type /Metadata /Subtype /XML",
        xmp(spec).as_bytes(),
        false,
    );
    let mut add = |body: Vec<u8>| -> usize {
        objs.push(body);
        objs.len()
    };
    let f1 = fonts.regular.embed(&fonts.used[0], &mut add);
    let f2 = fonts.bold.embed(&fonts.used[1], &mut add);
    let cs = add(b"[/CalGray << /WhitePoint [0.9505 1.0 1.089] /Gamma 2.2 >>]".to_vec());
    let mut kids = Vec::new();
    let mut page_numbers = Vec::new();
    for p in pages {
        let content = add(stream("", p.as_bytes(), true));
        page_numbers.push(content);
    }
    let first_page = objs.len() + 1;
    for (i, content) in page_numbers.iter().enumerate() {
        let no = first_page + i;
        kids.push(format!("{no} 0 R"));
        objs.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
                 /Resources << /Font << /F1 {f1} 0 R /F2 {f2} 0 R >> /ColorSpace << /DefaultGray {cs} 0 R >> >> \
                 /Contents {content} 0 R >>"
            )
            .into_bytes(),
        );
    }
    objs[0] = format!(
        "<< /Type /Catalog /Pages 2 0 R /Metadata 3 0 R /Lang ({}) >>",
        spec.lang
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
    )
    .into_bytes();
    objs[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        kids.join(" "),
        kids.len()
    )
    .into_bytes();
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objs.len());
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend(o);
        out.extend(b"\nendobj\n");
    }
    let id = file_id(&[
        &out,
        spec.title.as_bytes(),
        &spec.created_unix.to_be_bytes(),
    ]);
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f\r\n", objs.len() + 1).into_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n\r\n").into_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .into_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(blocks: Vec<Block>) -> DocumentSpec {
        DocumentSpec {
            title: "Шийдвэр <1> & Decision".into(),
            author: "Нийгмийн даатгалын ерөнхий газар".into(),
            lang: "mn".into(),
            created_unix: 1_795_800_000,
            blocks,
            qr: Some((
                "https://example.org/portal/verify?code=ABCD-EFGH".into(),
                "ABCD-EFGH".into(),
            )),
            footer: Some("Баталгаажуулах код / Verification code ABCD-EFGH".into()),
        }
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_795_800_000), "2026-11-27T17:20:00Z");
    }

    #[test]
    fn wraps_at_the_width_and_cuts_long_words() {
        let f = Font::regular().unwrap();
        let lines = wrap(
            &f,
            "Өргөдөл гаргагчийн мэдээлэл бүртгэлээс авагдсан",
            10.0,
            120.0,
        );
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| f.width(l, 10.0) <= 120.0));
        let long = "Ө".repeat(200);
        let cut = wrap(&f, &long, 10.0, 100.0);
        assert!(cut.len() > 5 && cut.concat() == long);
    }

    #[test]
    fn a_document_has_the_pdfa_parts() {
        let pdf = render(&spec(vec![
            Block::Title("Сайн дурын даатгалын шийдвэр".into()),
            Block::Field(
                "Өргөдөл гаргагч / Applicant".into(),
                "Бат-Эрдэнэ Үүрцайх".into(),
            ),
            Block::Rule,
            Block::Text("Үүнийг баталгаажуулав. ".repeat(400)),
        ]))
        .unwrap();
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-1.7\n%\xe2"));
        assert!(text.contains("<pdfaid:part>2</pdfaid:part>"));
        assert!(text.contains("/CIDToGIDMap /Identity") && text.contains("/FontFile2"));
        assert!(text.contains("/DefaultGray") && text.contains("/ID [<"));
        assert!(
            text.contains("Шийдвэр &lt;1&gt; &amp; Decision"),
            "title escaped in XMP"
        );
        assert!(
            !text.contains("/Info"),
            "no information dictionary to disagree with the XMP"
        );
        assert!(
            text.matches("/Type /Page ").count() >= 2,
            "long text flows onto more pages"
        );
        assert!(text.trim_end().ends_with("%%EOF"));
        // Every object offset in the table points at its object.
        let xref = text.rfind("xref\n").unwrap();
        for (i, line) in text[xref..]
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n"))
            .enumerate()
        {
            let off: usize = line[..10].parse().unwrap();
            assert!(
                text[off..].starts_with(&format!("{} 0 obj", i + 1)),
                "object {}",
                i + 1
            );
        }
    }

    #[test]
    fn refuses_what_it_cannot_make() {
        let mut s = spec(vec![Block::Text("x ".repeat(200_000))]);
        assert_eq!(render(&s).unwrap_err(), PdfaError::TooLong(MAX_PAGES));
        s.blocks.clear();
        s.qr = Some(("x".repeat(8000), String::new()));
        assert!(matches!(render(&s), Err(PdfaError::Qr(_))));
    }
}
