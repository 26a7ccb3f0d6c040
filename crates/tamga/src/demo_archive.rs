//! The demo's archive: the notarised sale contract and a city ordinance archived once, sealed
//! into evidence records by the node's TSA, listed in `demo.json` with the commands that export
//! a package and verify it offline.

use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};
use tamga_archive::service::{Archive, Ingest};

use crate::startup::Started;

const RECORD: &str = "documents/archive.json";

/// Archives the demo documents (once) and describes them for the manifest.
pub async fn ensure(started: &Started, data: &Path) -> anyhow::Result<Value> {
    let Some(archive) = &started.archive else {
        return Ok(Value::Null);
    };
    let path = data.join(RECORD);
    let ids: Vec<String> = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).context("documents/archive.json")?,
        Err(_) => {
            let ids = ingest(archive, data).await?;
            crate::demo::write_atomically(&path, serde_json::to_string(&ids)?.as_bytes())?;
            ids
        }
    };
    // Sealing runs in the background; the demo waits so that export works at once.
    archive
        .seal_pending()
        .await
        .context("sealing the demo archive")?;
    let base = &started.base_url;
    Ok(json!({
        "token_file": "secrets/archive-token",
        "documents": ids.iter().map(|id| json!({
            "id": id,
            "verify": tamga_archive::copy::verify_url(base, id),
            "export": format!("TAMGA_ARCHIVE_TOKEN=$(cat secrets/archive-token) tamga archive export --url {base} --id {id} -o {id}.asics"),
            "paper_copy": format!("TAMGA_ARCHIVE_TOKEN=$(cat secrets/archive-token) tamga archive copy --url {base} --id {id} -o {id}.pdf"),
            "verify_offline": format!("tamga archive verify {id}.asics --trust documents/trust-anchors.pem --log-key \"$(jq -r '.ledger.logs[] | select(.name==\"archive\") | .vkey' demo.json)\""),
        })).collect::<Vec<_>>(),
    }))
}

async fn ingest(archive: &Archive, data: &Path) -> anyhow::Result<Vec<String>> {
    let year = 365 * 86400;
    let now = tamga_pki::builder::now();
    let mut items = vec![(
        Ingest {
            file_name: "ordinance-2026-117.txt".into(),
            media_type: "text/plain; charset=utf-8".into(),
            title: "Нийслэлийн Засаг даргын захирамж №А/117 / Governor's ordinance No. A/117"
                .into(),
            creator: "Нийслэлийн Засаг даргын Тамгын газар / Governor's Office of the Capital City"
                .into(),
            classification: "01-03 Захирамж / Ordinances".into(),
            retain_until: now + 75 * year,
        },
        "Нийслэлийн Засаг даргын захирамж №А/117\n\
         Хан-Уул дүүргийн 15-р хорооны нийтийн эзэмшлийн талбайг тохижуулах тухай.\n\n\
         Governor's ordinance No. A/117: on landscaping the public square of Khan-Uul district, \
         15th khoroo.\n"
            .as_bytes()
            .to_vec(),
    )];
    if let Ok(pdf) = std::fs::read(data.join("documents/sale-contract.signed.pdf")) {
        items.push((
            Ingest {
                file_name: "sale-contract-2026-42.pdf".into(),
                media_type: "application/pdf".into(),
                title: "Худалдах, худалдан авах гэрээ №2026/42 / Sale contract No. 2026/42".into(),
                creator: "Нотариатч / Notary".into(),
                classification: "05-12 Гэрээ / Contracts".into(),
                retain_until: now + 10 * year,
            },
            pdf,
        ));
    }
    let acks = archive
        .ingest(items)
        .await
        .context("archiving the demo documents")?;
    Ok(acks.into_iter().map(|a| a.document_id).collect())
}
