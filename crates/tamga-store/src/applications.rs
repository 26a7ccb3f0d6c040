//! Storage for once-only applications and what surrounds them (the logic is in
//! `tamga-portal`): applications with their record (JSON), the unsigned and the signed
//! application file, the citizen's inbox, verification codes of issued documents, contact
//! addresses for notifications and the officials of each organisation.

use sqlx::Row;

use crate::{Store, StoreError, WalletDocument, now_ms};

/// An application (without its files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Id.
    pub application_id: String,
    /// Who applies (registration number).
    pub applicant: String,
    /// Whom it is about: the applicant, their child, or a company.
    pub subject: String,
    /// Catalogue service id.
    pub service_id: String,
    /// The deciding organisation (demo organisation id).
    pub provider: String,
    /// `draft`, `submitted`, `delivered`, `more-info`, `approved`, `refused`.
    pub status: String,
    /// Everything else, as JSON (representation, evidence, answers, messages, delivery).
    pub record: String,
    /// The decision in the applicant's wallet.
    pub decision_document_id: Option<String>,
    /// Created (ms).
    pub created_at_ms: i64,
    /// Last change (ms).
    pub updated_at_ms: i64,
}

/// An inbox message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxMessage {
    /// When (ms).
    pub at_ms: i64,
    /// Which application.
    pub application_id: String,
    /// Its new status.
    pub status: String,
    /// Text, Mongolian.
    pub text_mn: String,
    /// Text, English.
    pub text_en: String,
}

fn app(r: &sqlx::any::AnyRow) -> Result<Application, StoreError> {
    Ok(Application {
        application_id: r.try_get(0)?,
        applicant: r.try_get(1)?,
        subject: r.try_get(2)?,
        service_id: r.try_get(3)?,
        provider: r.try_get(4)?,
        status: r.try_get(5)?,
        record: r.try_get(6)?,
        decision_document_id: r.try_get(7)?,
        created_at_ms: r.try_get(8)?,
        updated_at_ms: r.try_get(9)?,
    })
}

impl Store {
    /// Records a new application.
    pub async fn application_insert(&self, a: &Application) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO portal_applications (application_id, applicant, subject, service_id, \
             provider, status, record, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(a.application_id.clone())
        .bind(a.applicant.clone())
        .bind(a.subject.clone())
        .bind(a.service_id.clone())
        .bind(a.provider.clone())
        .bind(a.status.clone())
        .bind(a.record.clone())
        .bind(a.created_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes an application if its status is still `from` (so two officials, or a citizen
    /// and an official, cannot both act on the same state); `false` when it was not.
    pub async fn application_update(
        &self,
        id: &str,
        from: &str,
        status: &str,
        record: &str,
        files: (Option<&[u8]>, Option<&[u8]>),
        decision_document_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE portal_applications SET status = $3, record = $4, \
             decision_document_id = COALESCE($5, decision_document_id), updated_at_ms = $6 \
             WHERE application_id = $1 AND status = $2",
        )
        .bind(id.to_owned())
        .bind(from.to_owned())
        .bind(status.to_owned())
        .bind(record.to_owned())
        .bind(decision_document_id.map(str::to_owned))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 && (files.0.is_some() || files.1.is_some()) {
            sqlx::query(
                "INSERT INTO portal_application_files (application_id) VALUES ($1) \
                 ON CONFLICT (application_id) DO NOTHING",
            )
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE portal_application_files SET document = COALESCE($2, document), \
                 signed = COALESCE($3, signed) WHERE application_id = $1",
            )
            .bind(id.to_owned())
            .bind(files.0.map(<[u8]>::to_vec))
            .bind(files.1.map(<[u8]>::to_vec))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// An application with its unsigned and signed files.
    #[allow(clippy::type_complexity)]
    pub async fn application_get(
        &self,
        id: &str,
    ) -> Result<Option<(Application, Option<Vec<u8>>, Option<Vec<u8>>)>, StoreError> {
        let row = sqlx::query(
            "SELECT a.application_id, a.applicant, a.subject, a.service_id, a.provider, a.status, \
             a.record, a.decision_document_id, a.created_at_ms, a.updated_at_ms, f.document, \
             f.signed FROM portal_applications a LEFT JOIN portal_application_files f \
             ON f.application_id = a.application_id WHERE a.application_id = $1",
        )
        .bind(id.to_owned())
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| Ok((app(&r)?, r.try_get(10)?, r.try_get(11)?)))
            .transpose()
    }

    /// The applications a citizen made, newest first, without their records (a list needs
    /// only the indexed columns; `record` comes back empty).
    pub async fn applications_of(&self, applicant: &str) -> Result<Vec<Application>, StoreError> {
        let rows = sqlx::query(
            "SELECT application_id, applicant, subject, service_id, provider, status, '', \
             decision_document_id, created_at_ms, updated_at_ms FROM portal_applications \
             WHERE applicant = $1 ORDER BY created_at_ms DESC, application_id LIMIT 500",
        )
        .bind(applicant.to_owned())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(app).collect()
    }

    /// An organisation's applications past the draft stage, oldest first (its queue), without
    /// their records.
    pub async fn applications_for(&self, provider: &str) -> Result<Vec<Application>, StoreError> {
        let rows = sqlx::query(
            "SELECT application_id, applicant, subject, service_id, provider, status, '', \
             decision_document_id, created_at_ms, updated_at_ms FROM portal_applications \
             WHERE provider = $1 AND status NOT IN ('draft', 'submitted') \
             ORDER BY created_at_ms, application_id LIMIT 1000",
        )
        .bind(provider.to_owned())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(app).collect()
    }

    /// Adds an inbox message.
    pub async fn inbox_add(&self, owner: &str, m: &InboxMessage) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO portal_inbox (owner, at_ms, application_id, status, text_mn, text_en) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(owner.to_owned())
        .bind(m.at_ms)
        .bind(m.application_id.clone())
        .bind(m.status.clone())
        .bind(m.text_mn.clone())
        .bind(m.text_en.clone())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A citizen's inbox, newest first.
    pub async fn inbox_of(&self, owner: &str) -> Result<Vec<InboxMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT at_ms, application_id, status, text_mn, text_en FROM portal_inbox \
             WHERE owner = $1 ORDER BY at_ms DESC",
        )
        .bind(owner.to_owned())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(InboxMessage {
                    at_ms: r.try_get(0)?,
                    application_id: r.try_get(1)?,
                    status: r.try_get(2)?,
                    text_mn: r.try_get(3)?,
                    text_en: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Records the verification code printed on an issued document, and where the document's
    /// salted commitment is in the ledger.
    pub async fn verification_code_put(
        &self,
        code: &str,
        document_id: &str,
        ledger: Option<(&str, i64, &[u8])>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO portal_verification_codes (code, document_id, created_at_ms, \
             ledger_log, ledger_index, salt) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(code.to_owned())
        .bind(document_id.to_owned())
        .bind(now_ms())
        .bind(ledger.map(|l| l.0.to_owned()))
        .bind(ledger.map(|l| l.1))
        .bind(ledger.map(|l| l.2.to_vec()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The document a verification code was printed on, with its content and its ledger
    /// entry (log, index, salt) when it has one.
    #[allow(clippy::type_complexity)]
    pub async fn verification_code_get(
        &self,
        code: &str,
    ) -> Result<Option<(WalletDocument, Vec<u8>, Option<(String, i64, Vec<u8>)>)>, StoreError> {
        let row = sqlx::query(
            "SELECT d.document_id, d.owner, d.title_mn, d.title_en, d.media_type, d.file_name, \
             d.sha256, d.issuer, d.created_at_ms, d.content, c.ledger_log, c.ledger_index, c.salt \
             FROM portal_verification_codes c \
             JOIN portal_documents d ON d.document_id = c.document_id WHERE c.code = $1",
        )
        .bind(code.to_owned())
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| {
            let log: Option<String> = r.try_get(10)?;
            let index: Option<i64> = r.try_get(11)?;
            let salt: Option<Vec<u8>> = r.try_get(12)?;
            let ledger = match (log, index, salt) {
                (Some(l), Some(i), Some(s)) => Some((l, i, s)),
                _ => None,
            };
            Ok((crate::portal::doc(&r)?, r.try_get(9)?, ledger))
        })
        .transpose()
    }

    /// Sets where a citizen's notifications go.
    pub async fn contact_set(&self, owner: &str, email: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM portal_contacts WHERE owner = $1")
            .bind(owner.to_owned())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO portal_contacts (owner, email) VALUES ($1, $2)")
            .bind(owner.to_owned())
            .bind(email.to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where a citizen's notifications go, if they said.
    pub async fn contact_get(&self, owner: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT email FROM portal_contacts WHERE owner = $1")
            .bind(owner.to_owned())
            .fetch_optional(self.reader())
            .await?;
        row.map(|r| Ok(r.try_get(0)?)).transpose()
    }

    /// Names an official of an organisation (replacing an earlier entry).
    pub async fn official_put(
        &self,
        reg: &str,
        organisation: &str,
        name: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM office_officials WHERE registration_number = $1")
            .bind(reg.to_owned())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO office_officials (registration_number, organisation, name) VALUES ($1, $2, $3)",
        )
        .bind(reg.to_owned())
        .bind(organisation.to_owned())
        .bind(name.to_owned())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The organisation an official acts for, and their name.
    pub async fn official_get(&self, reg: &str) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT organisation, name FROM office_officials WHERE registration_number = $1",
        )
        .bind(reg.to_owned())
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }
}
