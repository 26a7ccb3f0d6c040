//! Storage for the trust services: CAs, issued certificates, status changes (who, when, why)
//! and the trusted list's history. The CA logic lives in `tamga-trust`; this is only SQL.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, now_ms};

/// A certificate authority as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaRecord {
    /// URL-safe identifier (`mn-citizen-ca`).
    pub name: String,
    /// Human name.
    pub display_name: String,
    /// The issuing CA's name, or `None` for a root.
    pub parent: Option<String>,
    /// The CA certificate.
    pub cert_der: Vec<u8>,
    /// The CA key's label in the node's key store.
    pub key_label: String,
    /// The CA's certificate policy OID.
    pub policy_oid: String,
    /// The delegated OCSP responder's certificate.
    pub ocsp_cert_der: Option<Vec<u8>>,
    /// The OCSP responder key's label.
    pub ocsp_key_label: Option<String>,
}

/// An issued certificate as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRecord {
    /// The issuing CA.
    pub ca: String,
    /// Serial number, lower-case hex of its DER content bytes.
    pub serial_hex: String,
    /// The certificate.
    pub cert_der: Vec<u8>,
    /// Profile name (`citizen-sign`, …).
    pub profile: String,
    /// `good`, `revoked` or `suspended`.
    pub status: String,
    /// When it was revoked or suspended.
    pub revoked_at_ms: Option<i64>,
    /// The CRL reason name.
    pub reason: Option<String>,
    /// When it was issued.
    pub issued_at_ms: i64,
    /// Its notAfter.
    pub not_after_ms: i64,
}

/// One entry of a certificate's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertEvent {
    /// `issued`, `revoked`, `suspended`, `reinstated`.
    pub action: String,
    /// Who did it.
    pub actor: String,
    /// Why.
    pub why: String,
    /// When.
    pub at_ms: i64,
}

/// One status period of a trust service on the trusted list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedListEntry {
    /// The service (a CA name or a TSA name).
    pub service: String,
    /// `ca` or `tsa`.
    pub kind: String,
    /// `granted` or `withdrawn`.
    pub status: String,
    /// From when.
    pub from_ms: i64,
    /// Who decided.
    pub actor: String,
    /// A note.
    pub note: String,
}

fn ca_from(r: &AnyRow) -> Result<CaRecord, sqlx::Error> {
    Ok(CaRecord {
        name: r.try_get(0)?,
        display_name: r.try_get(1)?,
        parent: r.try_get(2)?,
        cert_der: r.try_get(3)?,
        key_label: r.try_get(4)?,
        policy_oid: r.try_get(5)?,
        ocsp_cert_der: r.try_get(6)?,
        ocsp_key_label: r.try_get(7)?,
    })
}

fn cert_from(r: &AnyRow) -> Result<CertRecord, sqlx::Error> {
    Ok(CertRecord {
        ca: r.try_get(0)?,
        serial_hex: r.try_get(1)?,
        cert_der: r.try_get(2)?,
        profile: r.try_get(3)?,
        status: r.try_get(4)?,
        revoked_at_ms: r.try_get(5)?,
        reason: r.try_get(6)?,
        issued_at_ms: r.try_get(7)?,
        not_after_ms: r.try_get(8)?,
    })
}

const CA_COLUMNS: &str =
    "name, display_name, parent, cert_der, key_label, policy_oid, ocsp_cert_der, ocsp_key_label";
const CERT_COLUMNS: &str =
    "ca, serial_hex, cert_der, profile, status, revoked_at_ms, reason, issued_at_ms, not_after_ms";

impl Store {
    /// Stores a new CA.
    pub async fn insert_ca(&self, ca: &CaRecord) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO pki_cas ({CA_COLUMNS}, crl_number, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)"
        )))
        .bind(ca.name.clone())
        .bind(ca.display_name.clone())
        .bind(ca.parent.clone())
        .bind(ca.cert_der.clone())
        .bind(ca.key_label.clone())
        .bind(ca.policy_oid.clone())
        .bind(ca.ocsp_cert_der.clone())
        .bind(ca.ocsp_key_label.clone())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every CA, roots first, then by name.
    pub async fn list_cas(&self) -> Result<Vec<CaRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CA_COLUMNS} FROM pki_cas ORDER BY (parent IS NOT NULL), name"
        )))
        .fetch_all(self.reader())
        .await?;
        Ok(rows.iter().map(ca_from).collect::<Result<_, _>>()?)
    }

    /// Stores an issued certificate and its `issued` event in one transaction.
    pub async fn insert_certificate(
        &self,
        cert: &CertRecord,
        actor: &str,
        why: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO pki_certificates ({CERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )))
        .bind(cert.ca.clone())
        .bind(cert.serial_hex.clone())
        .bind(cert.cert_der.clone())
        .bind(cert.profile.clone())
        .bind(cert.status.clone())
        .bind(cert.revoked_at_ms)
        .bind(cert.reason.clone())
        .bind(cert.issued_at_ms)
        .bind(cert.not_after_ms)
        .execute(&mut *tx)
        .await?;
        insert_event(
            &mut tx,
            &cert.ca,
            &cert.serial_hex,
            "issued",
            actor,
            why,
            cert.issued_at_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One certificate.
    pub async fn certificate(
        &self,
        ca: &str,
        serial_hex: &str,
    ) -> Result<Option<CertRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CERT_COLUMNS} FROM pki_certificates WHERE ca = $1 AND serial_hex = $2"
        )))
        .bind(ca.to_owned())
        .bind(serial_hex.to_owned())
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(cert_from).transpose()?)
    }

    /// Certificates of a CA that are revoked or suspended (the CRL's content).
    pub async fn revoked_certificates(&self, ca: &str) -> Result<Vec<CertRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CERT_COLUMNS} FROM pki_certificates WHERE ca = $1 AND status <> 'good' ORDER BY serial_hex"
        )))
        .bind(ca.to_owned())
        .fetch_all(self.reader())
        .await?;
        Ok(rows.iter().map(cert_from).collect::<Result<_, _>>()?)
    }

    /// Changes a certificate's status if it is currently `from`; records who and why.
    /// Returns `false` (and changes nothing) when the certificate is absent or in another state.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_certificate_status(
        &self,
        ca: &str,
        serial_hex: &str,
        from: &[&str],
        to: &str,
        reason: Option<&str>,
        action: &str,
        actor: &str,
        why: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let current: Option<String> =
            sqlx::query("SELECT status FROM pki_certificates WHERE ca = $1 AND serial_hex = $2")
                .bind(ca.to_owned())
                .bind(serial_hex.to_owned())
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
        if !current.as_deref().is_some_and(|c| from.contains(&c)) {
            return Ok(false);
        }
        let at = now_ms();
        let revoked_at = (to != "good").then_some(at);
        sqlx::query("UPDATE pki_certificates SET status = $1, revoked_at_ms = $2, reason = $3 WHERE ca = $4 AND serial_hex = $5")
            .bind(to.to_owned())
            .bind(revoked_at)
            .bind(reason.map(str::to_owned))
            .bind(ca.to_owned())
            .bind(serial_hex.to_owned())
            .execute(&mut *tx)
            .await?;
        insert_event(&mut tx, ca, serial_hex, action, actor, why, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A certificate's history, oldest first.
    pub async fn certificate_events(
        &self,
        ca: &str,
        serial_hex: &str,
    ) -> Result<Vec<CertEvent>, StoreError> {
        let rows = sqlx::query("SELECT action, actor, why, at_ms FROM pki_events WHERE ca = $1 AND serial_hex = $2 ORDER BY id")
            .bind(ca.to_owned())
            .bind(serial_hex.to_owned())
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(CertEvent {
                    action: r.try_get(0)?,
                    actor: r.try_get(1)?,
                    why: r.try_get(2)?,
                    at_ms: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Takes the next CRL number of a CA (monotonic, never reused).
    pub async fn next_crl_number(&self, ca: &str) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE pki_cas SET crl_number = crl_number + 1 WHERE name = $1")
            .bind(ca.to_owned())
            .execute(&mut *tx)
            .await?;
        let n: i64 = sqlx::query("SELECT crl_number FROM pki_cas WHERE name = $1")
            .bind(ca.to_owned())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(n)
    }

    /// Records a trusted-list status change.
    pub async fn add_trusted_list_entry(&self, e: &TrustedListEntry) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO trusted_list_history (service, kind, status, from_ms, actor, note) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(e.service.clone())
            .bind(e.kind.clone())
            .bind(e.status.clone())
            .bind(e.from_ms)
            .bind(e.actor.clone())
            .bind(e.note.clone())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The trusted list's whole history, oldest first.
    pub async fn trusted_list_history(&self) -> Result<Vec<TrustedListEntry>, StoreError> {
        let rows = sqlx::query("SELECT service, kind, status, from_ms, actor, note FROM trusted_list_history ORDER BY id")
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TrustedListEntry {
                    service: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    status: r.try_get(2)?,
                    from_ms: r.try_get(3)?,
                    actor: r.try_get(4)?,
                    note: r.try_get(5)?,
                })
            })
            .collect()
    }
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    ca: &str,
    serial_hex: &str,
    action: &str,
    actor: &str,
    why: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO pki_events (ca, serial_hex, action, actor, why, at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(ca.to_owned())
        .bind(serial_hex.to_owned())
        .bind(action.to_owned())
        .bind(actor.to_owned())
        .bind(why.to_owned())
        .bind(at_ms)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
