//! Who may grant what, and who may act on whom: the rules every change to
//! users, clients and roles passes, whichever surface (API, web UI) asks.

use sea_orm::ConnectionTrait;

use crate::domain::{Permission, Principal, RoleName};
use crate::error::AppError;
use crate::store::roles::{self, RoleRecord};

/// No credential makes one more powerful than itself: a caller may hand out a
/// privileged permission (through a role given to a user or client, or a
/// permission added to a role) only if it holds that permission itself. Without
/// this, `users:write` alone could give its holder the `admin` role, and a PAT
/// scoped to `clients:write` could register a client with it. Self-service and
/// application permissions are granted by whoever may manage the user, client or
/// role.
pub fn check_grant<'a>(
    grantor: &Principal,
    field: &'static str,
    granted: impl IntoIterator<Item = &'a str>,
) -> Result<(), AppError> {
    match first_unheld(grantor, granted) {
        Some(missing) => Err(AppError::CannotGrant {
            field,
            permission: missing.to_owned(),
        }),
        None => Ok(()),
    }
}

/// The first privileged permission of `permissions` that `caller` does not hold.
fn first_unheld<'a>(
    caller: &Principal,
    permissions: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    permissions
        .into_iter()
        .find(|p| Permission::is_privileged(p) && !caller.has_scope(p))
}

/// A caller acts on a user or client (changes, resets its password, rotates its
/// secret, disables or deletes it) only if that principal is no more powerful:
/// the caller holds every privileged permission the target's roles grant.
/// Otherwise `users:write` could reset an administrator's password and sign in
/// as them, and `clients:write` could rotate an admin client's secret.
pub async fn check_power_over(
    db: &impl ConnectionTrait,
    caller: &Principal,
    target_roles: &[String],
) -> Result<(), AppError> {
    let held = roles::granted_by(db, target_roles).await?;
    match first_unheld(caller, held.iter().map(String::as_str)) {
        Some(missing) => Err(AppError::Forbidden(missing.to_owned())),
        None => Ok(()),
    }
}

/// A caller changes or deletes a role only if it holds every privileged
/// permission the role grants now: taking `tokens:introspect` out of the role
/// every resource server holds, or deleting it, is power over all of them.
pub fn check_power_over_role(caller: &Principal, role: &RoleRecord) -> Result<(), AppError> {
    match first_unheld(caller, role.permissions.iter().map(String::as_str)) {
        Some(missing) => Err(AppError::Forbidden(missing.to_owned())),
        None => Ok(()),
    }
}

/// [`check_grant`] for roles given to a user or client: the permissions of the
/// roles in `after` that were not in `before`. No grantor (the CLI, start-up,
/// self-registration): nothing to check.
pub async fn check_role_grant(
    db: &impl ConnectionTrait,
    grantor: Option<&Principal>,
    before: &[String],
    after: &[RoleName],
) -> Result<(), AppError> {
    let Some(grantor) = grantor else {
        return Ok(());
    };
    let added: Vec<String> = after
        .iter()
        .map(|r| r.as_str().to_owned())
        .filter(|r| !before.contains(r))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    let granted = roles::granted_by(db, &added).await?;
    check_grant(grantor, "roles", granted.iter().map(String::as_str))
}
