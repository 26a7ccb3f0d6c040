//! The demo's signed document: a sale contract signed by two citizens and then by a notary
//! over both signatures, raised to PAdES B-LTA with the demo's own TSA and OCSP responders,
//! validated, and listed in `demo.json` with the command that re-checks it.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Value, json};
use tamga_keys::SoftwareSigner;
use tamga_pki::ParsedCert;
use tamga_sign::pades::{PdfSignOptions, add_document_timestamp, add_dss, sign_pdf, validate_pdf};
use tamga_sign::validate::{Policy, RevocationRequirement};
use tamga_trust::TrustServices;

use crate::demo_country::DEMO_PIN;

const DIR: &str = "documents";
const ROOTS: [&str; 3] = ["mn-gov-root", "accredited-a-root", "accredited-b-root"];

/// A one-page contract PDF. The base-14 fonts have no Cyrillic glyphs, so the page text is in
/// English and transliteration; the document title in /Info is in Mongolian.
pub(crate) fn contract_pdf(a: &str, b: &str) -> Vec<u8> {
    let lines = [
        "SALE CONTRACT No. 2026/42 - KHUDALDAKH GEREE",
        "Ulaanbaatar, 27 November 2026",
        "",
        &format!("Seller: {a}"),
        &format!("Buyer:  {b}"),
        "",
        "1. The seller sells the apartment at Khan-Uul district, 15th khoroo, building 42,",
        "   apartment 7, to the buyer for 180,000,000 MNT.",
        "2. The price is paid by bank transfer on the day the notary certifies this contract.",
        "3. The parties sign with their qualified electronic signatures; the notary",
        "   certifies the contract by signing over both signatures.",
    ];
    let mut content = String::from("BT /F1 11 Tf 60 780 Td 14 TL\n");
    for l in lines {
        content.push_str(&format!(
            "({}) Tj T*\n",
            l.replace('(', "\\(").replace(')', "\\)")
        ));
    }
    content.push_str("ET\n");
    let title = tamga_pdf::signatures::encode_text("Худалдах, худалдан авах гэрээ №2026/42");
    let title_hex: String = title.iter().map(|b| format!("{b:02X}")).collect();
    let objs: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
            .to_vec(),
        [
            format!("<< /Length {} >>\nstream\n", content.len()).into_bytes(),
            content.into_bytes(),
            b"\nendstream".to_vec(),
        ]
        .concat(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        format!("<< /Title <{title_hex}> /Producer (Tamga demo) >>").into_bytes(),
    ];
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = vec![];
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend(o);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f\r\n", objs.len() + 1).into_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n\r\n").into_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .into_bytes(),
    );
    out
}

pub(crate) struct Holder {
    key: SoftwareSigner,
    cert: ParsedCert,
    chain: Vec<ParsedCert>,
}

pub(crate) fn holder(data: &Path, p12: &str) -> anyhow::Result<Holder> {
    let bytes = std::fs::read(data.join(p12)).with_context(|| format!("cannot read {p12}"))?;
    let c = tamga_keys::read_pkcs12(&bytes, DEMO_PIN)?;
    let key = SoftwareSigner::from_pkcs8("demo", &c.key_pkcs8)?;
    let mut certs: Vec<ParsedCert> = c
        .certificates
        .iter()
        .map(|d| ParsedCert::from_der(d))
        .collect::<Result<_, _>>()?;
    let pos = certs
        .iter()
        .position(|x| x.spki_der == tamga_keys::Signer::public_key_der(&key))
        .ok_or_else(|| anyhow::anyhow!("{p12}: no certificate for the key"))?;
    let cert = certs.remove(pos);
    Ok(Holder {
        key,
        cert,
        chain: certs,
    })
}

/// One more PAdES B-T signature by `holder` on `pdf` (the demo TSA stamps it): what a party's
/// own signing tool does.
pub(crate) fn sign_one(
    trust: &Arc<TrustServices>,
    holder: &Holder,
    field: &str,
    reason: &str,
    pdf: &[u8],
) -> anyhow::Result<Vec<u8>> {
    let trust_ts = Arc::clone(trust);
    let tsa = move |req: &[u8]| -> Result<Vec<u8>, String> { Ok(trust_ts.timestamp(req)) };
    Ok(sign_pdf(
        pdf,
        &PdfSignOptions {
            signer: &holder.key,
            cert: &holder.cert,
            chain: &holder.chain,
            time: tamga_pki::builder::now(),
            field: Some(field.into()),
            reason: Some(reason.into()),
            location: Some("Улаанбаатар / Ulaanbaatar".into()),
            certify: None,
            timestamp: Some(&tsa),
        },
    )?)
}

/// Signs `pdf` by each holder in turn (PAdES B-T with the demo TSA), then adds the validation
/// data (DSS) and a document time-stamp: PAdES B-LTA.
pub(crate) fn sign_b_lta(
    trust: &Arc<TrustServices>,
    signers: &[(&Holder, &str, &str)],
    mut pdf: Vec<u8>,
) -> anyhow::Result<Vec<u8>> {
    let trust_ts = Arc::clone(trust);
    let tsa = move |req: &[u8]| -> Result<Vec<u8>, String> { Ok(trust_ts.timestamp(req)) };
    let trust_ocsp = Arc::clone(trust);
    let ocsp = move |url: &str, req: &[u8]| -> Result<Vec<u8>, String> {
        let ca = url
            .trim_end_matches("/ocsp")
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let t = Arc::clone(&trust_ocsp);
        let req = req.to_vec();
        Ok(tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async move { t.ocsp(&ca, &req).await })
        }))
    };
    let now = tamga_pki::builder::now();
    let mut lt_certs: Vec<ParsedCert> = Vec::new();
    for (p, field, reason) in signers {
        pdf = sign_pdf(
            &pdf,
            &PdfSignOptions {
                signer: &p.key,
                cert: &p.cert,
                chain: &p.chain,
                time: now,
                field: Some((*field).into()),
                reason: Some((*reason).into()),
                location: Some("Улаанбаатар / Ulaanbaatar".into()),
                certify: None,
                timestamp: Some(&tsa),
            },
        )?;
        lt_certs.push(p.cert.clone());
        lt_certs.extend(p.chain.iter().cloned());
    }
    if let Some(cms) = tamga_sign::pades::last_signature_contents(&pdf) {
        lt_certs.extend(tamga_sign::ltv::timestamp_certificates(&cms));
    }
    let data_lt = tamga_sign::ltv::collect(&lt_certs, &ocsp, now)
        .map_err(|e| anyhow::anyhow!("B-LT data: {e}"))?;
    pdf = add_dss(&pdf, &data_lt)?;
    Ok(add_document_timestamp(&pdf, &tsa)?)
}

/// Signs the demo contract once (kept in `<data>/documents/`) and describes it for demo.json.
pub async fn ensure(
    trust: &Arc<TrustServices>,
    data: &Path,
    country: &Value,
) -> anyhow::Result<Value> {
    let dir = data.join(DIR);
    let signed_path = dir.join("sale-contract.signed.pdf");
    let roots_path = dir.join("trust-anchors.pem");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut roots_pem = String::new();
    let mut anchors = Vec::new();
    for r in ROOTS {
        let der = trust.ca_certificate(r)?;
        roots_pem.push_str(&pem::encode(&der));
        anchors.push(ParsedCert::from_der(&der)?);
    }
    crate::demo::write_atomically(&roots_path, roots_pem.as_bytes())?;
    let citizens = country["citizens"].as_array().cloned().unwrap_or_default();
    let pick = |i: usize| -> anyhow::Result<(String, String)> {
        let c = citizens
            .get(i)
            .ok_or_else(|| anyhow::anyhow!("demo citizen {i} missing"))?;
        Ok((
            c["name"].as_str().unwrap_or_default().to_string(),
            c["files"]["sign"]["pkcs12"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ))
    };
    let (a_name, a_p12) = pick(0)?;
    let (b_name, b_p12) = pick(1)?;
    let official = &country["officials"][0];
    let n_name = official["name"].as_str().unwrap_or_default().to_string();
    let n_p12 = official["pkcs12"].as_str().unwrap_or_default().to_string();
    if !signed_path.exists() {
        let parties = [
            holder(data, &a_p12)?,
            holder(data, &b_p12)?,
            holder(data, &n_p12)?,
        ];
        let translit = |s: &str| crate::demo_contract::latin(s);
        let pdf = contract_pdf(&translit(&a_name), &translit(&b_name));
        let reasons = [
            "Худалдагч: гэрээг зөвшөөрөв / Seller agrees",
            "Худалдан авагч: гэрээг зөвшөөрөв / Buyer agrees",
            "Нотариатаар гэрчлэв: хоёр талын гарын үсгийг / Notarised over both signatures",
        ];
        let fields = ["Seller", "Buyer", "Notary"];
        let signers: Vec<(&Holder, &str, &str)> = parties
            .iter()
            .zip(fields)
            .zip(reasons)
            .map(|((p, f), r)| (p, f, r))
            .collect();
        let pdf = sign_b_lta(trust, &signers, pdf)?;
        crate::demo::write_atomically(&signed_path, &pdf)?;
    }
    let pdf = std::fs::read(&signed_path)?;
    let report = validate_pdf(
        "sale-contract.signed.pdf",
        &pdf,
        &Policy {
            anchors,
            extra_certs: vec![],
            extra_crls: vec![],
            extra_ocsp: vec![],
            time: tamga_pki::builder::now(),
            algorithms: tamga_pki::AlgorithmPolicy::Strict,
            revocation: RevocationRequirement::Require,
        },
    )?;
    let report_path = dir.join("sale-contract.report.json");
    crate::demo::write_atomically(
        &report_path,
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    Ok(json!({
        "title": "Худалдах, худалдан авах гэрээ №2026/42 / Sale contract No. 2026/42",
        "file": format!("{DIR}/sale-contract.signed.pdf"),
        "signers": [
            { "role": "seller / худалдагч", "name": a_name },
            { "role": "buyer / худалдан авагч", "name": b_name },
            { "role": "notary, over both signatures / нотариат", "name": n_name },
        ],
        "signatures": report.signatures.iter().map(|s| json!({
            "id": s.id, "field": s.field, "format": s.format, "indication": s.indication,
        })).collect::<Vec<_>>(),
        "verdict": report.indication,
        "report": format!("{DIR}/sale-contract.report.json"),
        "trust_anchors": format!("{DIR}/trust-anchors.pem"),
        "verify_command": format!("tamga verify {DIR}/sale-contract.signed.pdf --trust {DIR}/trust-anchors.pem --bundle {DIR}/evidence.zip"),
    }))
}

/// A simple Cyrillic → Latin transliteration for page text (MNS 5217).
pub fn latin(s: &str) -> String {
    s.chars()
        .map(|c| {
            match c.to_lowercase().next().unwrap_or(c) {
                'а' => "a",
                'б' => "b",
                'в' => "v",
                'г' => "g",
                'д' => "d",
                'е' => "e",
                'ё' => "yo",
                'ж' => "j",
                'з' => "z",
                'и' => "i",
                'й' => "i",
                'к' => "k",
                'л' => "l",
                'м' => "m",
                'н' => "n",
                'о' => "o",
                'ө' => "u",
                'п' => "p",
                'р' => "r",
                'с' => "s",
                'т' => "t",
                'у' => "u",
                'ү' => "u",
                'ф' => "f",
                'х' => "kh",
                'ц' => "ts",
                'ч' => "ch",
                'ш' => "sh",
                'щ' => "sh",
                'ъ' => "",
                'ы' => "y",
                'ь' => "i",
                'э' => "e",
                'ю' => "yu",
                'я' => "ya",
                ' ' => " ",
                _ => "?",
            }
            .to_string()
        })
        .collect::<String>()
        .split(' ')
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(f) => f.to_uppercase().collect::<String>() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

mod pem {
    use base64::Engine;
    pub fn encode(der: &[u8]) -> String {
        let b = base64::engine::general_purpose::STANDARD.encode(der);
        let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b.as_bytes().chunks(64) {
            s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            s.push('\n');
        }
        s.push_str("-----END CERTIFICATE-----\n");
        s
    }
}
