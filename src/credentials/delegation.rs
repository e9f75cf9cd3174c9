//! The rule behind every credential obtained with a credential (create, rotate,
//! and every operation that changes accounts): the result never holds more than
//! the credential asking for it. Not a scope it lacks, not a life beyond its
//! own, and nothing live from a test credential: a leaked test key stays a
//! test-data problem.

use chrono::{DateTime, Utc};

use uuid::Uuid;

use crate::domain::{CredentialKind, Environment, Principal, PrincipalKind, ScopeSet};
use crate::error::AppError;

/// A test credential may act on test credentials only: it cannot create,
/// rotate, revoke or change live credentials, nor the accounts and roles that
/// give them their power.
pub fn check_environment(caller: &Principal, target: Environment) -> Result<(), AppError> {
    if !caller.may_act_on(target) {
        return Err(AppError::ExceedsCaller(
            "a test credential cannot create, rotate, revoke or change live credentials, \
             accounts or roles"
                .into(),
        ));
    }
    Ok(())
}

/// [`check_environment`] for operations on accounts, roles and clients: live, always.
pub fn check_live(caller: &Principal) -> Result<(), AppError> {
    check_environment(caller, Environment::Live)
}

/// A delegated credential (an API key or PAT) cannot hand out one that outlives
/// it: otherwise a stolen short-lived token buys a permanent key. A user's own
/// session is the user, and is not bounded this way.
pub fn check_lifetime(
    caller: &Principal,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), AppError> {
    let delegated = matches!(
        caller.credential.kind,
        CredentialKind::ApiKey | CredentialKind::PersonalAccessToken
    );
    match caller.credential.expires_at {
        Some(limit) if delegated && expires_at.is_none_or(|e| e > limit) => {
            Err(AppError::validation(
                "expires_at",
                format!(
                    "must be no later than {}, when the credential making this request expires",
                    limit.to_rfc3339()
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// A credential carrying `scopes` (`None`: its owner's permissions, whatever they
/// become) may be re-issued to `caller` only if the caller holds all of that:
/// every one of the scopes, or for `None` the same open-ended power.
pub fn check_reissue(caller: &Principal, scopes: Option<&ScopeSet>) -> Result<(), AppError> {
    match scopes {
        None if !caller.credential.follows_principal => Err(AppError::ExceedsCaller(
            "this credential carries all of its owner's permissions; only a credential that \
             does too (a signed-in session, or an API key made without scopes) may rotate it"
                .into(),
        )),
        Some(scopes) => match scopes.first_missing_from(&caller.scopes) {
            Some(missing) => Err(AppError::ExceedsCaller(format!(
                "this credential carries `{missing}`, which the credential making this \
                 request does not hold"
            ))),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

/// The scopes a new credential minted by `caller` may carry: never more than the caller has.
pub fn grantable_scopes(
    caller: &Principal,
    requested: Option<ScopeSet>,
) -> Result<Option<ScopeSet>, AppError> {
    match requested {
        Some(requested) => {
            if let Some(missing) = requested.first_missing_from(&caller.scopes) {
                return Err(AppError::validation(
                    "scopes",
                    format!("`{missing}` is not a permission you hold"),
                ));
            }
            Ok(Some(requested))
        }
        // A user's own session may mint keys that follow the user's permissions;
        // any narrower credential passes its own scopes on, frozen.
        None if matches!(
            caller.credential.kind,
            CredentialKind::UserAccessToken | CredentialKind::BrowserSession
        ) =>
        {
            Ok(None)
        }
        None => Ok(Some(caller.scopes.clone())),
    }
}

pub fn owner_id(caller: &Principal) -> Result<Uuid, AppError> {
    if caller.principal.kind != PrincipalKind::User {
        return Err(AppError::Forbidden("a user credential".into()));
    }
    Uuid::parse_str(&caller.principal.id).map_err(|_| AppError::Unauthenticated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CredentialRef, PrincipalKind, PrincipalRef};
    use chrono::Duration;

    fn caller(
        kind: CredentialKind,
        environment: Option<Environment>,
        scopes: &str,
        expires_at: Option<DateTime<Utc>>,
        follows_principal: bool,
    ) -> Principal {
        Principal {
            principal: PrincipalRef {
                kind: PrincipalKind::User,
                id: "u".into(),
                name: "u".into(),
            },
            credential: CredentialRef {
                kind,
                id: "c".into(),
                environment,
                expires_at,
                follows_principal,
            },
            scopes: ScopeSet::parse_delimited(scopes).unwrap(),
            roles: vec![],
        }
    }

    fn scopes(s: &str) -> ScopeSet {
        ScopeSet::parse_delimited(s).unwrap()
    }

    #[test]
    fn a_narrow_credential_cannot_reissue_a_broader_one() {
        let narrow = caller(
            CredentialKind::PersonalAccessToken,
            None,
            "api_keys:read api_keys:write",
            None,
            false,
        );
        assert!(check_reissue(&narrow, None).is_err(), "an owner-wide key");
        assert!(check_reissue(&narrow, Some(&scopes("api_keys:write users:write"))).is_err());
        assert!(check_reissue(&narrow, Some(&scopes("api_keys:write"))).is_ok());
        let session = caller(
            CredentialKind::UserAccessToken,
            None,
            "api_keys:write",
            None,
            true,
        );
        assert!(
            check_reissue(&session, None).is_ok(),
            "the user's own session"
        );
    }

    #[test]
    fn a_test_credential_acts_on_test_credentials_only() {
        let test = caller(
            CredentialKind::ApiKey,
            Some(Environment::Test),
            "",
            None,
            true,
        );
        assert!(check_environment(&test, Environment::Test).is_ok());
        assert!(check_environment(&test, Environment::Live).is_err());
        assert!(check_live(&test).is_err());
        let live = caller(
            CredentialKind::ApiKey,
            Some(Environment::Live),
            "",
            None,
            true,
        );
        assert!(check_live(&live).is_ok());
    }

    #[test]
    fn a_delegated_credential_cannot_outlive_its_maker() {
        let now = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        let pat = caller(
            CredentialKind::PersonalAccessToken,
            None,
            "",
            Some(now + Duration::days(7)),
            false,
        );
        for (case, expires_at, ok) in [
            ("never", None, false),
            ("later", Some(now + Duration::days(8)), false),
            ("same time", Some(now + Duration::days(7)), true),
            ("sooner", Some(now + Duration::days(1)), true),
        ] {
            assert_eq!(check_lifetime(&pat, expires_at).is_ok(), ok, "case {case}");
        }
        let session = caller(
            CredentialKind::BrowserSession,
            None,
            "",
            Some(now + Duration::hours(8)),
            true,
        );
        assert!(
            check_lifetime(&session, None).is_ok(),
            "a session is the user"
        );
    }
}
