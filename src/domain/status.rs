//! Whether a stored credential still works.

use chrono::{DateTime, Utc};

/// A credential's state at a moment: revocation wins over expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialStatus {
    Active,
    Expired,
    Revoked,
}

impl CredentialStatus {
    /// The status at `now` of a credential revoked at `revoked_at` (if ever)
    /// that ends at `expires_at` (if ever).
    pub fn at(
        revoked_at: Option<DateTime<Utc>>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        if revoked_at.is_some() {
            CredentialStatus::Revoked
        } else if expires_at.is_some_and(|e| e <= now) {
            CredentialStatus::Expired
        } else {
            CredentialStatus::Active
        }
    }

    /// `active`, `expired` or `revoked`, as the API and the pages show it.
    pub const fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Active => "active",
            CredentialStatus::Expired => "expired",
            CredentialStatus::Revoked => "revoked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_wins_over_expiry_and_expiry_is_inclusive() {
        let now = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        let before = now - chrono::Duration::seconds(1);
        let after = now + chrono::Duration::seconds(1);
        for (case, revoked, expires, status) in [
            ("fresh", None, None, CredentialStatus::Active),
            (
                "not yet expired",
                None,
                Some(after),
                CredentialStatus::Active,
            ),
            ("expiring now", None, Some(now), CredentialStatus::Expired),
            ("expired", None, Some(before), CredentialStatus::Expired),
            (
                "revoked and expired",
                Some(before),
                Some(before),
                CredentialStatus::Revoked,
            ),
        ] {
            assert_eq!(
                CredentialStatus::at(revoked, expires, now),
                status,
                "case {case}"
            );
        }
    }
}
