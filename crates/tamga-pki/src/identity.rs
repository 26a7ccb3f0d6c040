//! Mongolian identifiers in certificates (ETSI EN 319 412-1 §5.1.3 semantics identifiers).
//!
//! * Natural persons: `serialNumber = PNOMN-<registration number>`. The registration number is
//!   two Cyrillic letters and eight digits (`УБ99010112`). X.520 `serialNumber` is a
//!   PrintableString, so the letters are written in **Tamga Latin**: each Cyrillic capital maps
//!   to one Latin capital, or a Latin capital followed by an apostrophe for the letters Latin
//!   lacks. The apostrophe never starts a token, so reading greedily gives back exactly one
//!   Cyrillic letter per token: the form is reversible, and Ө/Ү (`O'`/`U'`) never collide with
//!   О/У (`O`/`U`). The Cyrillic original is carried as a UTF8String in a subjectAltName
//!   directoryName `CN=PNOMN-УБ99010112` (a DirectoryString may be UTF8String; an otherName
//!   would need a registered OID arc, which Tamga does not have yet).
//! * Legal persons: `organizationIdentifier = NTRMN-<7-digit state register number>`.
//!
//! | Cyrillic | Latin | Cyrillic | Latin | Cyrillic | Latin |
//! |---|---|---|---|---|---|
//! | А | A | Л | L | Ф | F |
//! | Б | B | М | M | Х | H |
//! | В | V | Н | N | Ц | C |
//! | Г | G | О | O | Ч | C' |
//! | Д | D | Ө | O' | Ш | S' |
//! | Е | E | П | P | Щ | W |
//! | Ё | E' | Р | R | Ъ | Q |
//! | Ж | J | С | S | Ы | Y |
//! | З | Z | Т | T | Ь | Q' |
//! | И | I | У | U | Э | X |
//! | Й | I' | Ү | U' | Ю | Y' |
//! | К | K | | | Я | A' |
//!
//! Synthetic numbers made by Tamga's demo are not checksum-valid: the check digit's algorithm is
//! not public, and the demo must not mint numbers that could belong to real people.

const TABLE: [(char, &str); 35] = [
    ('А', "A"),
    ('Б', "B"),
    ('В', "V"),
    ('Г', "G"),
    ('Д', "D"),
    ('Е', "E"),
    ('Ё', "E'"),
    ('Ж', "J"),
    ('З', "Z"),
    ('И', "I"),
    ('Й', "I'"),
    ('К', "K"),
    ('Л', "L"),
    ('М', "M"),
    ('Н', "N"),
    ('О', "O"),
    ('Ө', "O'"),
    ('П', "P"),
    ('Р', "R"),
    ('С', "S"),
    ('Т', "T"),
    ('У', "U"),
    ('Ү', "U'"),
    ('Ф', "F"),
    ('Х', "H"),
    ('Ц', "C"),
    ('Ч', "C'"),
    ('Ш', "S'"),
    ('Щ', "W"),
    ('Ъ', "Q"),
    ('Ы', "Y"),
    ('Ь', "Q'"),
    ('Э', "X"),
    ('Ю', "Y'"),
    ('Я', "A'"),
];

/// A citizen registration number, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationNumber {
    letters: [char; 2],
    digits: String,
}

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdentifierError(pub String);

impl RegistrationNumber {
    /// Parses `УБ99010112`: two Cyrillic capitals of the Mongolian alphabet, eight digits.
    pub fn parse(text: &str) -> Result<Self, IdentifierError> {
        let chars: Vec<char> = text.trim().chars().collect();
        let bad = |why: &str| {
            IdentifierError(format!(
                "registration number {text:?}: {why} (expected two Cyrillic letters and eight digits, e.g. УБ99010112)"
            ))
        };
        if chars.len() != 10 {
            return Err(bad("wrong length"));
        }
        for c in &chars[..2] {
            if !TABLE.iter().any(|(k, _)| k == c) {
                return Err(bad(&format!(
                    "{c:?} is not a Mongolian Cyrillic capital letter"
                )));
            }
        }
        if !chars[2..].iter().all(|c| c.is_ascii_digit()) {
            return Err(bad("the last eight characters must be digits"));
        }
        Ok(Self {
            letters: [chars[0], chars[1]],
            digits: chars[2..].iter().collect(),
        })
    }

    /// Parses the Tamga Latin form (`UB99010112`, `O'V12345678`).
    pub fn from_latin(text: &str) -> Result<Self, IdentifierError> {
        let mut rest = text.trim();
        let mut letters = Vec::new();
        while letters.len() < 2 {
            let (c, len) = TABLE
                .iter()
                .filter(|(_, l)| rest.starts_with(l))
                .max_by_key(|(_, l)| l.len())
                .map(|(c, l)| (*c, l.len()))
                .ok_or_else(|| {
                    IdentifierError(format!("{text:?} is not a Tamga Latin registration number"))
                })?;
            letters.push(c);
            rest = &rest[len..];
        }
        let cyr: String = letters.iter().collect::<String>() + rest;
        Self::parse(&cyr)
    }

    /// `УБ99010112`.
    pub fn cyrillic(&self) -> String {
        format!("{}{}{}", self.letters[0], self.letters[1], self.digits)
    }

    /// `UB99010112`.
    pub fn latin(&self) -> String {
        let tok = |c: char| TABLE.iter().find(|(k, _)| *k == c).map_or("?", |(_, l)| l);
        format!(
            "{}{}{}",
            tok(self.letters[0]),
            tok(self.letters[1]),
            self.digits
        )
    }

    /// The certificate `serialNumber`: `PNOMN-UB99010112`.
    pub fn serial_number_attribute(&self) -> String {
        format!("PNOMN-{}", self.latin())
    }
}

/// A legal person's state register number (7 digits), as `organizationIdentifier`.
pub fn legal_person_identifier(register_number: &str) -> Result<String, IdentifierError> {
    let n = register_number.trim();
    if n.len() == 7 && n.bytes().all(|b| b.is_ascii_digit()) {
        Ok(format!("NTRMN-{n}"))
    } else {
        Err(IdentifierError(format!(
            "legal person register number {register_number:?}: expected 7 digits"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_letter_round_trips_and_no_two_collide() {
        for (a, _) in TABLE {
            for (b, _) in TABLE {
                let n = RegistrationNumber::parse(&format!("{a}{b}12345678")).unwrap();
                let latin = n.latin();
                assert!(
                    latin
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'\''),
                    "{latin}"
                );
                assert_eq!(
                    RegistrationNumber::from_latin(&latin).unwrap(),
                    n,
                    "{latin}"
                );
            }
        }
        let o = RegistrationNumber::parse("ОУ00000000").unwrap().latin();
        let oe = RegistrationNumber::parse("ӨҮ00000000").unwrap().latin();
        assert_ne!(o, oe);
        assert_eq!(oe, "O'U'00000000");
    }

    #[test]
    fn bad_numbers_are_refused_with_a_reason() {
        for bad in [
            "",
            "УБ9901011",
            "УБ990101123",
            "UB99010112",
            "уб99010112",
            "УБ9901011X",
            "ӨQ12345678",
        ] {
            let err = RegistrationNumber::parse(bad).unwrap_err();
            assert!(err.0.contains("registration number"), "{bad}: {err}");
        }
        assert_eq!(
            RegistrationNumber::parse(" УБ99010112 ")
                .unwrap()
                .serial_number_attribute(),
            "PNOMN-UB99010112"
        );
        assert_eq!(legal_person_identifier("2012345").unwrap(), "NTRMN-2012345");
        assert!(legal_person_identifier("201234").is_err());
    }
}
