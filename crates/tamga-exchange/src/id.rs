//! X-Road identifiers: a client (`INSTANCE/CLASS/MEMBER[/SUBSYSTEM]`) and a service
//! (`INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`), as they appear in `X-Road-Client` and in the
//! REST message protocol's path (`/r1/{INSTANCE}/{CLASS}/{MEMBER}/{SUBSYSTEM}/{SERVICE}/...`).

use std::fmt;

/// A malformed identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "malformed identifier {0:?}: expected INSTANCE/CLASS/MEMBER/SUBSYSTEM[/SERVICE] of letters, digits and - _ . (at most 64 each)"
)]
pub struct IdError(pub String);

fn part_ok(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 64
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A member or one of its subsystems.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId {
    /// X-Road instance (the country's exchange, e.g. `MN`).
    pub instance: String,
    /// Member class (`GOV`, `COM`, `NGO`, ...).
    pub class: String,
    /// Member code (the organisation's register number).
    pub member: String,
    /// Subsystem code, if this names a subsystem.
    pub subsystem: Option<String>,
}

impl ClientId {
    /// Parses `INSTANCE/CLASS/MEMBER` or `INSTANCE/CLASS/MEMBER/SUBSYSTEM`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split('/').collect();
        if !(3..=4).contains(&parts.len()) || !parts.iter().all(|p| part_ok(p)) {
            return Err(IdError(s.into()));
        }
        Ok(Self {
            instance: parts[0].into(),
            class: parts[1].into(),
            member: parts[2].into(),
            subsystem: parts.get(3).map(|s| (*s).to_owned()),
        })
    }

    /// Parses a subsystem identifier (four parts).
    pub fn parse_subsystem(s: &str) -> Result<Self, IdError> {
        let id = Self::parse(s)?;
        if id.subsystem.is_none() {
            return Err(IdError(s.into()));
        }
        Ok(id)
    }

    /// The member this names or belongs to.
    pub fn member_id(&self) -> ClientId {
        ClientId {
            subsystem: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.instance, self.class, self.member)?;
        if let Some(s) = &self.subsystem {
            write!(f, "/{s}")?;
        }
        Ok(())
    }
}

/// A service of a subsystem.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId {
    /// The providing subsystem.
    pub provider: ClientId,
    /// Service code.
    pub code: String,
}

impl ServiceId {
    /// Parses `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let (head, code) = s.rsplit_once('/').ok_or_else(|| IdError(s.into()))?;
        if !part_ok(code) {
            return Err(IdError(s.into()));
        }
        Ok(Self {
            provider: ClientId::parse_subsystem(head).map_err(|_| IdError(s.into()))?,
            code: code.into(),
        })
    }

    /// Splits a REST path after `/r1/` into the service and the rest of the path (with its
    /// leading `/`, possibly empty).
    pub fn from_path(after_r1: &str) -> Result<(Self, &str), IdError> {
        let cut = after_r1
            .match_indices('/')
            .nth(4)
            .map_or(after_r1.len(), |(i, _)| i);
        let (id, rest) = after_r1.split_at(cut);
        Ok((Self::parse(id)?, rest))
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let c = ClientId::parse("MN/GOV/9000002/tax-system").expect("client");
        assert_eq!(c.to_string(), "MN/GOV/9000002/tax-system");
        assert_eq!(c.member_id().to_string(), "MN/GOV/9000002");
        let (s, rest) = ServiceId::from_path("MN/GOV/9000001/civil-registry/person/v1/citizens/УБ")
            .expect("svc");
        assert_eq!(s.to_string(), "MN/GOV/9000001/civil-registry/person");
        assert_eq!(rest, "/v1/citizens/УБ");
        let (s, rest) = ServiceId::from_path("MN/GOV/9000001/civil-registry/person").expect("svc");
        assert_eq!(s.code, "person");
        assert_eq!(rest, "");
        for bad in [
            "MN/GOV",
            "MN/GOV/1/2/3/4/5",
            "MN//1/x",
            "MN/GOV/9 1/x",
            "MN/GOV/1/x/../y",
        ] {
            assert!(
                ClientId::parse(bad).is_err() || ServiceId::parse(bad).is_err(),
                "{bad}"
            );
        }
        assert!(ServiceId::from_path("MN/GOV/1/sub").is_err());
    }
}
