//! Permissions are scope strings `resource:action` (RFC 6749 §3.3 scope tokens,
//! restricted further so they read the same everywhere).

use std::collections::BTreeSet;
use std::fmt;

const MAX_PART_LEN: usize = 64;

/// One permission, `resource:action`, each part `[a-z0-9_.-]+`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{scope}` is not a valid scope: expected resource:action with lowercase letters, digits, `_`, `.` or `-`")]
pub struct ScopeError {
    pub scope: String,
}

fn valid_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= MAX_PART_LEN
        && part.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        })
}

impl Scope {
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        match s.split_once(':') {
            Some((resource, action)) if valid_part(resource) && valid_part(action) => {
                Ok(Self(s.to_owned()))
            }
            _ => Err(ScopeError {
                scope: s.to_owned(),
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The words of a stored, space-delimited scope list, for display (no validation:
/// what was stored was parsed before).
pub fn scope_words(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|part| !part.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A set of scopes; displayed space-delimited and sorted, as in an OAuth `scope` parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses a space-delimited list; empty input is the empty set.
    pub fn parse_delimited(s: &str) -> Result<Self, ScopeError> {
        s.split(' ')
            .filter(|part| !part.is_empty())
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    pub fn parse_all<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, ScopeError> {
        items
            .into_iter()
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The first scope of `self` that `other` lacks.
    pub fn first_missing_from(&self, other: &ScopeSet) -> Option<&Scope> {
        self.0.iter().find(|s| !other.0.contains(*s))
    }

    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|s| s.0.clone()).collect()
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_resource_action_pairs() {
        for ok in ["jobs:write", "api_keys:read", "a.b-c:d_e", "x1:y2"] {
            assert!(Scope::parse(ok).is_ok(), "{ok} should parse");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "jobs",
            ":write",
            "jobs:",
            "Jobs:write",
            "jobs:write:x",
            "jobs :write",
            "jobs:wr ite",
            "jöbs:write",
            "'; DROP TABLE users;--:x",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn empty_scope_string_is_the_empty_set() {
        assert!(ScopeSet::parse_delimited("").unwrap().is_empty());
        assert!(ScopeSet::parse_delimited("   ").unwrap().is_empty());
    }

    #[test]
    fn displays_sorted_and_deduplicated() {
        let set = ScopeSet::parse_delimited("b:x a:y b:x").unwrap();
        assert_eq!(set.to_string(), "a:y b:x");
    }

    #[test]
    fn intersection_narrows_to_what_both_hold() {
        let key = ScopeSet::parse_delimited("jobs:read jobs:write").unwrap();
        let owner = ScopeSet::parse_delimited("jobs:read users:read").unwrap();
        assert_eq!(key.intersection(&owner).to_string(), "jobs:read");
        assert_eq!(
            key.first_missing_from(&owner).map(Scope::as_str),
            Some("jobs:write")
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = ScopeSet::parse_delimited(&s);
        }

        #[test]
        fn display_round_trips(parts in proptest::collection::vec("[a-z0-9_.-]{1,10}:[a-z0-9_.-]{1,10}", 0..8)) {
            let set = ScopeSet::parse_all(parts.iter().map(String::as_str)).unwrap();
            prop_assert_eq!(ScopeSet::parse_delimited(&set.to_string()).unwrap(), set);
        }
    }
}
