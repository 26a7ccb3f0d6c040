//! Storage for e-Notary (the logic is in `tamga-notary`): contracts with their current document
//! version, and the notarial register.

use sqlx::Row;

use crate::{Store, StoreError, now_ms};

/// A contract being signed or notarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRow {
    /// Id.
    pub contract_id: String,
    /// `signing`, `awaiting-notary`, `notarised`.
    pub status: String,
    /// Parties, order, deadline, history (JSON).
    pub record: String,
    /// The current version of the document.
    pub document: Vec<u8>,
    /// Incremented on every change.
    pub version: i64,
    /// Created (ms).
    pub created_at_ms: i64,
}

/// A notarial act in the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRow {
    /// `2026/000042`.
    pub register_number: String,
    /// Year of the act.
    pub year: i64,
    /// Sequence within the year.
    pub seq: i64,
    /// The contract.
    pub contract_id: String,
    /// SHA-256 of the notarised document.
    pub sha256: Vec<u8>,
    /// The code printed on paper copies.
    pub verification_code: String,
    /// Ledger log of the commitment.
    pub ledger_log: String,
    /// Its index.
    pub ledger_index: i64,
    /// The commitment's salt.
    pub salt: Vec<u8>,
    /// When (ms).
    pub notarised_at_ms: i64,
    /// What the parties allowed to be public (JSON).
    pub public_record: String,
}

fn register(r: &sqlx::any::AnyRow) -> Result<RegisterRow, StoreError> {
    Ok(RegisterRow {
        register_number: r.try_get(0)?,
        year: r.try_get(1)?,
        seq: r.try_get(2)?,
        contract_id: r.try_get(3)?,
        sha256: r.try_get(4)?,
        verification_code: r.try_get(5)?,
        ledger_log: r.try_get(6)?,
        ledger_index: r.try_get(7)?,
        salt: r.try_get(8)?,
        notarised_at_ms: r.try_get(9)?,
        public_record: r.try_get(10)?,
    })
}

macro_rules! select_register {
    ($rest:literal) => {
        concat!(
            "SELECT register_number, year, seq, contract_id, sha256, verification_code, \
             ledger_log, ledger_index, salt, notarised_at_ms, public_record FROM notary_register ",
            $rest
        )
    };
}

impl Store {
    /// Records a new contract.
    pub async fn notary_contract_insert(&self, c: &ContractRow) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO notary_contracts (contract_id, status, record, document, version, \
             created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(c.contract_id.clone())
        .bind(c.status.clone())
        .bind(c.record.clone())
        .bind(c.document.clone())
        .bind(c.version)
        .bind(c.created_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A contract.
    pub async fn notary_contract_get(&self, id: &str) -> Result<Option<ContractRow>, StoreError> {
        let r = sqlx::query(
            "SELECT contract_id, status, record, document, version, created_at_ms \
             FROM notary_contracts WHERE contract_id = $1",
        )
        .bind(id.to_owned())
        .fetch_optional(self.reader())
        .await?;
        r.map(|r| {
            Ok(ContractRow {
                contract_id: r.try_get(0)?,
                status: r.try_get(1)?,
                record: r.try_get(2)?,
                document: r.try_get(3)?,
                version: r.try_get(4)?,
                created_at_ms: r.try_get(5)?,
            })
        })
        .transpose()
    }

    /// Replaces a contract's state if it is still at `version`; `false` when someone else
    /// changed it first.
    pub async fn notary_contract_update(
        &self,
        id: &str,
        version: i64,
        status: &str,
        record: &str,
        document: &[u8],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE notary_contracts SET status = $3, record = $4, document = $5, \
             version = version + 1, updated_at_ms = $6 WHERE contract_id = $1 AND version = $2",
        )
        .bind(id.to_owned())
        .bind(version)
        .bind(status.to_owned())
        .bind(record.to_owned())
        .bind(document.to_vec())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Replaces only a contract's record (not its document) if it is still at `version`;
    /// `false` when someone else changed it first.
    pub async fn notary_contract_set_record(
        &self,
        id: &str,
        version: i64,
        record: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE notary_contracts SET record = $3, version = version + 1, updated_at_ms = $4 \
             WHERE contract_id = $1 AND version = $2",
        )
        .bind(id.to_owned())
        .bind(version)
        .bind(record.to_owned())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Enters a notarised act: it takes the next number of `act.year`, and the contract moves
    /// to `notarised` (if still at `version`) with `document` and the record `record(number)`
    /// writes, in one transaction. Returns the number, or `None` when the contract changed
    /// meanwhile.
    pub async fn notary_register_act(
        &self,
        contract_id: &str,
        version: i64,
        record: &(dyn Fn(&str) -> String + Sync),
        document: &[u8],
        act: &RegisterRow,
    ) -> Result<Option<String>, StoreError> {
        let year = act.year;
        let mut tx = self.begin_write().await?;
        let seq: i64 =
            sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM notary_register WHERE year = $1")
                .bind(year)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        let number = format!("{year}/{seq:06}");
        let n = sqlx::query(
            "UPDATE notary_contracts SET status = 'notarised', record = $3, document = $4, \
             version = version + 1, updated_at_ms = $5 WHERE contract_id = $1 AND version = $2",
        )
        .bind(contract_id.to_owned())
        .bind(version)
        .bind(record(&number))
        .bind(document.to_vec())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO notary_register (register_number, year, seq, contract_id, sha256, \
             verification_code, ledger_log, ledger_index, salt, notarised_at_ms, public_record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(number.clone())
        .bind(year)
        .bind(seq)
        .bind(contract_id.to_owned())
        .bind(act.sha256.clone())
        .bind(act.verification_code.clone())
        .bind(act.ledger_log.clone())
        .bind(act.ledger_index)
        .bind(act.salt.clone())
        .bind(act.notarised_at_ms)
        .bind(act.public_record.clone())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(number))
    }

    /// An act by its register number.
    pub async fn notary_act_by_number(
        &self,
        number: &str,
    ) -> Result<Option<RegisterRow>, StoreError> {
        let r = sqlx::query(select_register!("WHERE register_number = $1"))
            .bind(number.to_owned())
            .fetch_optional(self.reader())
            .await?;
        r.as_ref().map(register).transpose()
    }

    /// An act by its verification code.
    pub async fn notary_act_by_code(&self, code: &str) -> Result<Option<RegisterRow>, StoreError> {
        let r = sqlx::query(select_register!("WHERE verification_code = $1"))
            .bind(code.to_owned())
            .fetch_optional(self.reader())
            .await?;
        r.as_ref().map(register).transpose()
    }

    /// An act by the SHA-256 of its notarised document.
    pub async fn notary_act_by_sha256(
        &self,
        sha256: &[u8],
    ) -> Result<Option<RegisterRow>, StoreError> {
        let r = sqlx::query(select_register!("WHERE sha256 = $1"))
            .bind(sha256.to_vec())
            .fetch_optional(self.reader())
            .await?;
        r.as_ref().map(register).transpose()
    }
}
