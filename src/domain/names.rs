//! Names people type: usernames, role names, passwords.
//!
//! Usernames are compared in their PRECIS UsernameCaseMapped form (RFC 8265
//! §3.3: width mapping, case mapping, NFC), so `Alice`, `ALICE` and fullwidth
//! `ａｌｉｃｅ` are one name; a name mixing scripts that can pass for each other
//! (Latin with Cyrillic `а`) is refused; and every name carries its Unicode TR39
//! skeleton, which look-alike names share, so the store can refuse a second one.

use std::fmt;

use precis_core::profile::PrecisFastInvocation;
use precis_profiles::UsernameCaseMapped;
use secrecy::{ExposeSecret, SecretString};
use unicode_security::{RestrictionLevel, RestrictionLevelDetection};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(pub &'static str);

/// 1–64 characters: letters and digits of any script, and `.`, `_`, `-`, `@`, `+`;
/// kept as given for display, compared by [`Username::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username {
    display: String,
    key: String,
    skeleton: String,
}

const USERNAME_PUNCTUATION: [char; 5] = ['.', '_', '-', '@', '+'];

fn username_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || USERNAME_PUNCTUATION.contains(&c))
}

impl Username {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let count = s.chars().count();
        if count == 0 || count > 64 {
            return Err(NameError("must be 1 to 64 characters long"));
        }
        if !username_chars_ok(s) {
            return Err(NameError(
                "may contain only letters, digits and the characters . _ - @ +",
            ));
        }
        let key = Self::key_of(s).ok_or(NameError(
            "contains characters that cannot be compared reliably (RFC 8265)",
        ))?;
        // TR39 restriction levels judge letters and digits; the punctuation above is
        // common to every script.
        let letters: String = key
            .chars()
            .filter(|c| !USERNAME_PUNCTUATION.contains(c))
            .collect();
        if !letters
            .as_str()
            .check_restriction_level(RestrictionLevel::HighlyRestrictive)
        {
            return Err(NameError(
                "mixes scripts whose letters look alike (for example Latin and Cyrillic)",
            ));
        }
        let skeleton = unicode_security::skeleton(&key).collect();
        Ok(Self {
            display: s.to_owned(),
            key,
            skeleton,
        })
    }

    /// The comparison form of any presented name (RFC 8265 UsernameCaseMapped),
    /// `None` when it has none. A login looks users up by it.
    pub fn key_of(presented: &str) -> Option<String> {
        let key = UsernameCaseMapped::enforce(presented).ok()?;
        // Width mapping can turn a character into ones the name may not hold.
        username_chars_ok(&key).then(|| key.into_owned())
    }

    /// The name as given, for display.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// What uniqueness and logins compare.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The TR39 skeleton of the key: names that look alike share it.
    pub fn skeleton(&self) -> &str {
        &self.skeleton
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
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

    /// Every name of a list, or the first that is not a role name.
    pub fn parse_all<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Self>, InvalidRoleName> {
        names
            .into_iter()
            .map(|name| {
                Self::parse(name).map_err(|reason| InvalidRoleName {
                    name: name.to_owned(),
                    reason,
                })
            })
            .collect()
    }
}

/// A name in a list of roles that is not a role name, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` {reason}")]
pub struct InvalidRoleName {
    pub name: String,
    pub reason: NameError,
}

/// A user's password: 8 to 1024 bytes, and not one that is common, breached or a
/// simple pattern (NIST SP 800-63B §5.1.1.2, ASVS 6.2.4); never printed.
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
        if is_guessable(&s) {
            return Err(NameError(
                "is too easy to guess: it is a common or breached password, a word with \
                 small changes, or a simple pattern; choose a longer, less predictable one \
                 (a few unrelated words work well)",
            ));
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

/// zxcvbn's estimate (its dictionaries hold the most common breached passwords,
/// words, names, keyboard walks, repeats, sequences and dates): below "score 2",
/// fewer than a million guesses, a password falls to online guessing. "trident"
/// counts as a dictionary word, the service's own name being the first guess.
fn is_guessable(password: &str) -> bool {
    // zxcvbn's cost grows with the length; its verdict does not change past this.
    const JUDGED_CHARS: usize = 100;
    let judged: String = password.chars().take(JUDGED_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&judged, &["trident"]);
    estimate.score() < zxcvbn::Score::Two
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
    fn usernames_that_look_alike_compare_alike_or_are_refused() {
        let alice = Username::parse("alice").unwrap();
        for same in ["Alice", "ALICE", "ａｌｉｃｅ"] {
            let other = Username::parse(same).unwrap();
            assert_eq!(other.key(), alice.key(), "case {same}: one key");
            assert_eq!(other.as_str(), same, "case {same}: shown as given");
        }
        let cyrillic = "\u{430}lice";
        assert!(
            Username::parse(cyrillic).is_err(),
            "Cyrillic а among Latin letters"
        );
        assert_eq!(
            Username::parse("ｒｏｏｔ-ａｄｍｉｎ").unwrap().key(),
            "root-admin",
            "fullwidth is width-mapped"
        );
        assert_eq!(
            Username::parse("adrnin").unwrap().skeleton(),
            Username::parse("admin").unwrap().skeleton(),
            "rn passes for m: one skeleton"
        );
        assert_ne!(Username::parse("bob").unwrap().skeleton(), alice.skeleton());
        assert_eq!(Username::key_of("ALICE").as_deref(), Some("alice"));
        assert_eq!(Username::key_of("a b"), None);
    }

    #[test]
    fn common_and_patterned_passwords_are_refused() {
        for common in [
            "password",
            "12345678",
            "password1",
            "passw0rd",
            "qwertyuiop",
            "aaaaaaaaaa",
            "abcdefgh",
            "iloveyou123",
            "trident1",
        ] {
            assert!(Password::parse(common.into()).is_err(), "case {common}");
        }
        for fine in ["correct-horse-battery", "another-password-1", "Tr0ub4dor&3"] {
            assert!(Password::parse(fine.into()).is_ok(), "case {fine}");
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
