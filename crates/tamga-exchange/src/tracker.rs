//! The data tracker: for every exchange of personal data, an entry saying when, which
//! organisation, which service, for what purpose and on what legal basis — kept by the
//! providing gateway, indexed by the data subject, and committed to the ledger's `access` log
//! as a salted commitment (the subject's registration number never reaches the ledger).
//!
//! Delayed disclosure: an authority whose access right allows it may hide its calls from the
//! subject until a date (a police inquiry); the entry records that date and stays out of
//! `findUsage` answers until then.

use serde::{Deserialize, Serialize};

use crate::globalconf::sha256;

/// Entry format name.
pub const FORMAT: &str = "tamga-access/1";

/// One access to a person's data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TrackerEntry {
    /// [`FORMAT`].
    pub format: String,
    /// When (ms since the Unix epoch).
    pub at_ms: i64,
    /// The data subject (registration number).
    pub subject: String,
    /// The client subsystem that asked.
    pub client: String,
    /// The service.
    pub service: String,
    /// Why.
    pub purpose: String,
    /// On what legal basis.
    pub legal_basis: String,
    /// The exchange's `X-Road-Id`.
    pub x_road_id: String,
    /// Hidden from the subject until (ms), if delayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclose_after_ms: Option<i64>,
    /// 16 random bytes (base64) that make the commitment unguessable.
    pub salt: String,
}

impl TrackerEntry {
    /// The commitment put in the `access` log: SHA-256 of the entry's JSON.
    pub fn commitment(&self) -> [u8; 32] {
        sha256(&serde_json::to_vec(self).unwrap_or_default())
    }
}

/// The tracker block of a message-log record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TrackerBlock {
    /// The entry.
    pub entry: TrackerEntry,
    /// Its commitment (hex).
    pub commitment: String,
}

/// One line of a `findUsage` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Usage {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Organisation (member) that asked.
    pub organisation: String,
    /// Its name in Mongolian.
    pub organisation_mn: String,
    /// Its name in English.
    pub organisation_en: String,
    /// Client subsystem.
    pub client: String,
    /// Service.
    pub service: String,
    /// Purpose.
    pub purpose: String,
    /// Legal basis.
    pub legal_basis: String,
    /// Exchange id.
    pub x_road_id: String,
    /// The entry's JSON exactly as committed: its SHA-256 is `commitment`, which is in the
    /// `access` log (so the subject can check it).
    pub entry: String,
    /// Its commitment (hex).
    pub commitment: String,
    /// Index in the `access` log, once committed.
    pub access_index: Option<u64>,
}

/// Formats ms since the epoch as RFC 3339 UTC.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DD` as midnight UTC, in ms.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: i64 = s[5..7].parse().ok()?;
    let d: i64 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let back = rfc3339(days * 86_400_000);
    // Rejects 2026-02-31 and the like.
    (back[..10] == *s).then_some(days * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_date("2026-11-27"), Some(1_795_737_600_000));
        assert_eq!(
            rfc3339(1_795_737_600_000 + 3_723_000),
            "2026-11-27T01:02:03Z"
        );
        assert_eq!(parse_date("2026-02-31"), None);
        assert_eq!(parse_date("2026-2-01"), None);
    }
}
