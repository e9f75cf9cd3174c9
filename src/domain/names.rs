//! Names people type: usernames, role names, passwords.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(pub &'static str);

/// 1–64 characters: letters and digits of any script, and `.`, `_`, `-`, `@`, `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let count = s.chars().count();
        if count == 0 || count > 64 {
            return Err(NameError("must be 1 to 64 characters long"));
        }
        if !s
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'))
        {
            return Err(NameError(
                "may contain only letters, digits and the characters . _ - @ +",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub const MAX_LABEL_CHARS: usize = 100;

/// A human-chosen label (a key's or a client's name): 1 to 100 characters,
/// not blank, no control characters.
pub fn check_label(label: &str) -> Result<(), NameError> {
    let count = label.chars().count();
    if count == 0
        || count > MAX_LABEL_CHARS
        || label.chars().any(char::is_control)
        || label.trim().is_empty()
    {
        return Err(NameError(
            "must be 1 to 100 characters, not blank, without control characters",
        ));
    }
    Ok(())
}

/// A role name: `[a-z][a-z0-9_-]{0,63}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let mut bytes = s.bytes();
        let first_ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase());
        let rest_ok =
            bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'));
        if first_ok && rest_ok && s.len() <= 64 {
            Ok(Self(s.to_owned()))
        } else {
            Err(NameError(
                "must start with a lowercase letter and contain only a-z, 0-9, _ and - (at most 64)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's password: 8 to 1024 bytes (NIST SP 800-63B); never printed.
pub struct Password(SecretString);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(s: String) -> Result<Self, NameError> {
        if s.chars().count() < Self::MIN_CHARS {
            return Err(NameError("must be at least 8 characters long"));
        }
        if s.len() > Self::MAX_BYTES {
            return Err(NameError("must be at most 1024 bytes long"));
        }
        Ok(Self(SecretString::from(s)))
    }

    /// Wraps a password presented at login without judging it: a wrong password
    /// must fail the same way as one that could never have been set.
    pub fn presented(s: String) -> Self {
        Self(SecretString::from(s))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_accept_unicode_letters_and_reject_metacharacters() {
        for ok in ["alice", "björk", "用户", "a.b-c_d@e+f", "Δ1"] {
            assert!(Username::parse(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "",
            "a b",
            "robert'); DROP TABLE users;--",
            "<script>",
            "a\0b",
            &"x".repeat(65),
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn role_names_are_lowercase_identifiers() {
        assert!(RoleName::parse("ops-team_2").is_ok());
        for bad in ["", "Admin", "1st", "a b", "ä"] {
            assert!(RoleName::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn passwords_are_bounded_and_never_printed() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("x".repeat(1025)).is_err());
        let p = Password::parse("correct horse".into()).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
