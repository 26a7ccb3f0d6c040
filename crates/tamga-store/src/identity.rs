//! Storage for the identity role (the logic is in `tamga-id`; this is only SQL): registered
//! clients, accounts with their sign-in state, consents, grants (refresh-token families) and
//! revoked access tokens.

use sqlx::Row;

use crate::{Store, StoreError, now_ms};

/// A stored account.
#[derive(Debug, Clone)]
pub struct AccountRow {
    /// Internal id (never shown to clients: they see pairwise subjects).
    pub account_id: String,
    /// The citizen's registration number (Cyrillic).
    pub registration_number: String,
    /// Names and other claims (JSON).
    pub profile: String,
    /// `pbkdf2-sha256$…`, when a password is set.
    pub password_hash: Option<String>,
    /// TOTP secret, when enrolled.
    pub totp_secret: Option<Vec<u8>>,
    /// The last TOTP step accepted.
    pub totp_last_step: i64,
    /// Consecutive failed sign-ins.
    pub failures: i64,
    /// No password sign-in before this time (ms).
    pub locked_until_ms: i64,
}

/// A grant (one refresh-token family) as stored.
#[derive(Debug, Clone)]
pub struct GrantRow {
    /// Random id (in the refresh token).
    pub grant_id: String,
    /// Client.
    pub client_id: String,
    /// Account.
    pub account_id: String,
    /// Browser session it came from.
    pub session_id: String,
    /// What was granted (JSON).
    pub details: String,
    /// Current generation.
    pub generation: i64,
    /// SHA-256 of the current generation's secret.
    pub secret_hash: Vec<u8>,
    /// Expiry (ms).
    pub expires_at_ms: i64,
}

/// What rotating a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Rotated; the grant's details, account and client.
    Rotated {
        /// The grant's details (JSON).
        details: String,
        /// Account.
        account_id: String,
        /// Client.
        client_id: String,
        /// Session.
        session_id: String,
    },
    /// No such grant, or the secret does not match its generation.
    Unknown,
    /// The grant was revoked earlier.
    Revoked,
    /// The grant has expired.
    Expired,
    /// An older generation was presented again: the whole family is now revoked.
    Reused,
}

/// A remote-signing credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRow {
    /// Its id (CSC `credentialID`).
    pub credential_id: String,
    /// Whose it is.
    pub account_id: String,
    /// The key's label on the signing token.
    pub key_label: String,
    /// Certificate chain, signer first (JSON list of base64 DER).
    pub certificates: String,
    /// What it is for (shown to the citizen).
    pub description: String,
}

/// A representation mandate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MandateRow {
    /// Its id.
    pub mandate_id: String,
    /// Who acts: a registration number.
    pub actor: String,
    /// `person` or `organization`.
    pub subject_kind: String,
    /// For whom: a registration number or a state register number.
    pub subject_id: String,
    /// The represented party's name.
    pub subject_name: String,
    /// `parent`, `guardian`, `legal-representative` or `employee`.
    pub basis: String,
    /// Who granted it (a registration number, or `civil-registration`).
    pub granted_by: String,
    /// A represented child's date of birth (`YYYY-MM-DD`).
    pub subject_birthdate: Option<String>,
    /// End of validity (ms).
    pub valid_until_ms: Option<i64>,
}

fn mandate(r: &sqlx::any::AnyRow) -> Result<MandateRow, StoreError> {
    Ok(MandateRow {
        mandate_id: r.try_get(0)?,
        actor: r.try_get(1)?,
        subject_kind: r.try_get(2)?,
        subject_id: r.try_get(3)?,
        subject_name: r.try_get(4)?,
        basis: r.try_get(5)?,
        granted_by: r.try_get(6)?,
        subject_birthdate: r.try_get(7)?,
        valid_until_ms: r.try_get(8)?,
    })
}

const MANDATE_COLUMNS: &str = "mandate_id, actor, subject_kind, subject_id, subject_name, basis, \
     granted_by, subject_birthdate, valid_until_ms";

fn credential(r: &sqlx::any::AnyRow) -> Result<CredentialRow, StoreError> {
    Ok(CredentialRow {
        credential_id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        key_label: r.try_get(2)?,
        certificates: r.try_get(3)?,
        description: r.try_get(4)?,
    })
}

fn account(r: &sqlx::any::AnyRow) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        account_id: r.try_get(0)?,
        registration_number: r.try_get(1)?,
        profile: r.try_get(2)?,
        password_hash: r.try_get(3)?,
        totp_secret: r.try_get(4)?,
        totp_last_step: r.try_get(5)?,
        failures: r.try_get(6)?,
        locked_until_ms: r.try_get(7)?,
    })
}

const ACCOUNT_COLUMNS: &str = "account_id, registration_number, profile, password_hash, \
     totp_secret, totp_last_step, failures, locked_until_ms";

impl Store {
    /// Registers or replaces a client.
    pub async fn id_client_put(
        &self,
        client_id: &str,
        registration: &str,
        secret_hash: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO id_clients (client_id, registration, secret_hash, created_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (client_id) DO UPDATE \
             SET registration = excluded.registration, secret_hash = excluded.secret_hash",
        )
        .bind(client_id.to_owned())
        .bind(registration.to_owned())
        .bind(secret_hash.map(<[u8]>::to_vec))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every client: (id, registration JSON, secret hash).
    pub async fn id_clients(&self) -> Result<Vec<(String, String, Option<Vec<u8>>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT client_id, registration, secret_hash FROM id_clients ORDER BY client_id",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    /// Creates an account; `false` if the registration number has one already.
    pub async fn id_account_insert(&self, row: &AccountRow) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "INSERT INTO id_accounts (account_id, registration_number, profile, password_hash, \
             totp_secret, totp_last_step, failures, locked_until_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, 0, 0, 0, $6) ON CONFLICT DO NOTHING",
        )
        .bind(row.account_id.clone())
        .bind(row.registration_number.clone())
        .bind(row.profile.clone())
        .bind(row.password_hash.clone())
        .bind(row.totp_secret.clone())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// The account of a registration number.
    pub async fn id_account_by_registration(
        &self,
        registration_number: &str,
    ) -> Result<Option<AccountRow>, StoreError> {
        let q = format!("SELECT {ACCOUNT_COLUMNS} FROM id_accounts WHERE registration_number = $1");
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(registration_number.to_owned())
            .fetch_optional(self.reader())
            .await?
            .as_ref()
            .map(account)
            .transpose()
    }

    /// An account by id.
    pub async fn id_account(&self, account_id: &str) -> Result<Option<AccountRow>, StoreError> {
        let q = format!("SELECT {ACCOUNT_COLUMNS} FROM id_accounts WHERE account_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(account_id.to_owned())
            .fetch_optional(self.reader())
            .await?
            .as_ref()
            .map(account)
            .transpose()
    }

    /// Records a failed sign-in: the new failure count and lock time.
    pub async fn id_account_failed(
        &self,
        account_id: &str,
        failures: i64,
        locked_until_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE id_accounts SET failures = $2, locked_until_ms = $3 WHERE account_id = $1",
        )
        .bind(account_id.to_owned())
        .bind(failures)
        .bind(locked_until_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a successful password+TOTP sign-in at TOTP step `step`; `false` when that step
    /// (or a later one) was used already — a replayed code.
    pub async fn id_account_signed_in(
        &self,
        account_id: &str,
        step: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE id_accounts SET failures = 0, locked_until_ms = 0, totp_last_step = $2 \
             WHERE account_id = $1 AND totp_last_step < $2",
        )
        .bind(account_id.to_owned())
        .bind(step)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// The scopes an account consented to for a client.
    pub async fn id_consent(
        &self,
        account_id: &str,
        client_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query("SELECT scopes FROM id_consents WHERE account_id = $1 AND client_id = $2")
                .bind(account_id.to_owned())
                .bind(client_id.to_owned())
                .fetch_optional(self.reader())
                .await?
                .map(|r| r.try_get(0))
                .transpose()?,
        )
    }

    /// Stores a consent (replacing an earlier one).
    pub async fn id_consent_put(
        &self,
        account_id: &str,
        client_id: &str,
        scopes: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO id_consents (account_id, client_id, scopes, granted_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, client_id) DO UPDATE \
             SET scopes = excluded.scopes, granted_at_ms = excluded.granted_at_ms",
        )
        .bind(account_id.to_owned())
        .bind(client_id.to_owned())
        .bind(scopes.to_owned())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a new grant.
    pub async fn id_grant_insert(&self, g: &GrantRow) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO id_grants (grant_id, client_id, account_id, session_id, details, \
             generation, secret_hash, expires_at_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(g.grant_id.clone())
        .bind(g.client_id.clone())
        .bind(g.account_id.clone())
        .bind(g.session_id.clone())
        .bind(g.details.clone())
        .bind(g.generation)
        .bind(g.secret_hash.clone())
        .bind(g.expires_at_ms)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rotates a refresh token: generation `generation` with secret hash `old_hash` becomes
    /// `generation + 1` with `new_hash`, in one conditional UPDATE (two concurrent uses of
    /// one token: exactly one wins, the other is reuse).
    pub async fn id_grant_rotate(
        &self,
        grant_id: &str,
        client_id: &str,
        generation: i64,
        old_hash: &[u8],
        new_hash: &[u8],
    ) -> Result<Rotation, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE id_grants SET generation = generation + 1, secret_hash = $5 \
             WHERE grant_id = $1 AND client_id = $2 AND generation = $3 AND secret_hash = $4 \
             AND revoked_at_ms IS NULL AND expires_at_ms > $6 \
             RETURNING details, account_id, client_id, session_id",
        )
        .bind(grant_id.to_owned())
        .bind(client_id.to_owned())
        .bind(generation)
        .bind(old_hash.to_vec())
        .bind(new_hash.to_vec())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = row {
            let out = Rotation::Rotated {
                details: r.try_get(0)?,
                account_id: r.try_get(1)?,
                client_id: r.try_get(2)?,
                session_id: r.try_get(3)?,
            };
            tx.commit().await?;
            return Ok(out);
        }
        let state = sqlx::query(
            "SELECT generation, revoked_at_ms, expires_at_ms FROM id_grants \
             WHERE grant_id = $1 AND client_id = $2",
        )
        .bind(grant_id.to_owned())
        .bind(client_id.to_owned())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(state) = state else {
            return Ok(Rotation::Unknown);
        };
        let (current, revoked, expires): (i64, Option<i64>, i64) =
            (state.try_get(0)?, state.try_get(1)?, state.try_get(2)?);
        let out = if revoked.is_some() {
            Rotation::Revoked
        } else if expires <= now {
            Rotation::Expired
        } else if generation < current {
            sqlx::query(
                "UPDATE id_grants SET revoked_at_ms = $2, revoked_reason = 'refresh token reused' \
                 WHERE grant_id = $1",
            )
            .bind(grant_id.to_owned())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            Rotation::Reused
        } else {
            Rotation::Unknown
        };
        tx.commit().await?;
        Ok(out)
    }

    /// Whether a grant is live (exists, not revoked, not expired).
    pub async fn id_grant_live(&self, grant_id: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 FROM id_grants WHERE grant_id = $1 AND revoked_at_ms IS NULL \
             AND expires_at_ms > $2",
        )
        .bind(grant_id.to_owned())
        .bind(now_ms())
        .fetch_optional(self.reader())
        .await?
        .is_some())
    }

    /// The account of a grant.
    pub async fn id_grant_account(&self, grant_id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query("SELECT account_id FROM id_grants WHERE grant_id = $1")
                .bind(grant_id.to_owned())
                .fetch_optional(self.reader())
                .await?
                .map(|r| r.try_get(0))
                .transpose()?,
        )
    }

    /// The client of a grant.
    pub async fn id_grant_client(&self, grant_id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query("SELECT client_id FROM id_grants WHERE grant_id = $1")
                .bind(grant_id.to_owned())
                .fetch_optional(self.reader())
                .await?
                .map(|r| r.try_get(0))
                .transpose()?,
        )
    }

    /// Revokes a grant of `client_id`; `false` if there was no live one.
    pub async fn id_grant_revoke(
        &self,
        grant_id: &str,
        client_id: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE id_grants SET revoked_at_ms = $3, revoked_reason = $4 \
             WHERE grant_id = $1 AND client_id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(grant_id.to_owned())
        .bind(client_id.to_owned())
        .bind(now_ms())
        .bind(reason.to_owned())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Revokes every live grant of a browser session; returns the clients that had one.
    pub async fn id_grants_end_session(&self, session_id: &str) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "UPDATE id_grants SET revoked_at_ms = $2, revoked_reason = 'signed out' \
             WHERE session_id = $1 AND revoked_at_ms IS NULL RETURNING client_id",
        )
        .bind(session_id.to_owned())
        .bind(now_ms())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut clients: Vec<String> = rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        clients.sort();
        clients.dedup();
        Ok(clients)
    }

    /// Marks an access token revoked until its expiry.
    pub async fn id_token_revoke(&self, jti: &str, expires_at_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO id_revoked_tokens (jti, expires_at_ms) VALUES ($1, $2) \
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti.to_owned())
        .bind(expires_at_ms)
        .execute(&mut *tx)
        .await?;
        // Entries past their token's expiry are no longer needed.
        sqlx::query("DELETE FROM id_revoked_tokens WHERE expires_at_ms < $1")
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether an access token was revoked.
    pub async fn id_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("SELECT 1 FROM id_revoked_tokens WHERE jti = $1")
                .bind(jti.to_owned())
                .fetch_optional(self.reader())
                .await?
                .is_some(),
        )
    }

    /// Uses a single-use token: `false` if it was used (or revoked) already.
    pub async fn id_token_use(&self, jti: &str, expires_at_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "INSERT INTO id_revoked_tokens (jti, expires_at_ms) VALUES ($1, $2) \
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti.to_owned())
        .bind(expires_at_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Stores a remote-signing credential.
    pub async fn id_credential_put(&self, c: &CredentialRow) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO id_credentials (credential_id, account_id, key_label, certificates, \
             description, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.credential_id.clone())
        .bind(c.account_id.clone())
        .bind(c.key_label.clone())
        .bind(c.certificates.clone())
        .bind(c.description.clone())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An account's credentials.
    pub async fn id_credentials_of(
        &self,
        account_id: &str,
    ) -> Result<Vec<CredentialRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT credential_id, account_id, key_label, certificates, description \
             FROM id_credentials WHERE account_id = $1 ORDER BY credential_id",
        )
        .bind(account_id.to_owned())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(credential).collect()
    }

    /// A credential by id.
    pub async fn id_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<CredentialRow>, StoreError> {
        sqlx::query(
            "SELECT credential_id, account_id, key_label, certificates, description \
             FROM id_credentials WHERE credential_id = $1",
        )
        .bind(credential_id.to_owned())
        .fetch_optional(self.reader())
        .await?
        .as_ref()
        .map(credential)
        .transpose()
    }

    /// Stores a passkey; `false` if its credential id is registered already.
    pub async fn id_passkey_put(
        &self,
        credential_id: &str,
        account_id: &str,
        public_key: &[u8],
        sign_count: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "INSERT INTO id_passkeys (credential_id, account_id, public_key, sign_count, \
             created_at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(credential_id.to_owned())
        .bind(account_id.to_owned())
        .bind(public_key.to_vec())
        .bind(sign_count)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// A passkey: (account, public key, counter).
    pub async fn id_passkey(
        &self,
        credential_id: &str,
    ) -> Result<Option<(String, Vec<u8>, i64)>, StoreError> {
        let row = sqlx::query(
            "SELECT account_id, public_key, sign_count FROM id_passkeys WHERE credential_id = $1",
        )
        .bind(credential_id.to_owned())
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }

    /// Moves a passkey's counter from `old` to `new`; `false` if it was not `old` any more
    /// (a concurrent use of a cloned authenticator).
    pub async fn id_passkey_count(
        &self,
        credential_id: &str,
        old: i64,
        new: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE id_passkeys SET sign_count = $3 WHERE credential_id = $1 AND sign_count = $2",
        )
        .bind(credential_id.to_owned())
        .bind(old)
        .bind(new)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// The passkey credential ids of an account.
    pub async fn id_passkeys_of(&self, account_id: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT credential_id FROM id_passkeys WHERE account_id = $1")
            .bind(account_id.to_owned())
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Stores a mandate; `false` if the same actor already holds a live one for that subject
    /// on that basis.
    pub async fn id_mandate_put(&self, m: &MandateRow) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let existing = sqlx::query(
            "SELECT 1 FROM id_mandates WHERE actor = $1 AND subject_id = $2 AND basis = $3 \
             AND revoked_at_ms IS NULL",
        )
        .bind(m.actor.clone())
        .bind(m.subject_id.clone())
        .bind(m.basis.clone())
        .fetch_optional(&mut *tx)
        .await?;
        if existing.is_some() {
            return Ok(false);
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO id_mandates ({MANDATE_COLUMNS}, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )))
        .bind(m.mandate_id.clone())
        .bind(m.actor.clone())
        .bind(m.subject_kind.clone())
        .bind(m.subject_id.clone())
        .bind(m.subject_name.clone())
        .bind(m.basis.clone())
        .bind(m.granted_by.clone())
        .bind(m.subject_birthdate.clone())
        .bind(m.valid_until_ms)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The live mandates an actor holds.
    pub async fn id_mandates_of(&self, actor: &str) -> Result<Vec<MandateRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MANDATE_COLUMNS} FROM id_mandates WHERE actor = $1 \
             AND revoked_at_ms IS NULL AND (valid_until_ms IS NULL OR valid_until_ms > $2) \
             ORDER BY subject_kind, subject_name"
        )))
        .bind(actor.to_owned())
        .bind(now_ms())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(mandate).collect()
    }
}
