//! Managing principals and RBAC: users and roles. Every change is audited.

use sea_orm::TransactionTrait;
use serde_json::json;
use uuid::Uuid;

use entity::api_keys::Model as ApiKey;

use crate::credentials::{api_keys, delegation};
use crate::domain::{Password, Permission, Principal, RoleName, ScopeSet, Username};
use crate::error::AppError;
use crate::secret::OpaqueSecret;
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::roles::{self, RoleRecord};
use crate::store::users::{self, NewUser, UserChanges, UserRecord};
use crate::store::{browser_sessions, refresh_tokens, Page};

pub const ADMIN_ROLE: &str = "admin";
pub const USER_ROLE: &str = "user";

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
    db: &impl sea_orm::ConnectionTrait,
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
fn check_power_over_role(caller: &Principal, role: &RoleRecord) -> Result<(), AppError> {
    match first_unheld(caller, role.permissions.iter().map(String::as_str)) {
        Some(missing) => Err(AppError::Forbidden(missing.to_owned())),
        None => Ok(()),
    }
}

/// [`check_grant`] for roles given to a user or client: the permissions of the
/// roles in `after` that were not in `before`. No grantor (the CLI, start-up,
/// self-registration): nothing to check.
pub async fn check_role_grant(
    db: &impl sea_orm::ConnectionTrait,
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

pub struct UserUpdate {
    pub password: Option<Password>,
    pub disabled: Option<bool>,
    pub roles: Option<Vec<RoleName>>,
}

/// A new user and, when the setting asks for it, its first API key (shown once).
pub struct CreatedUser {
    pub record: UserRecord,
    pub api_key: Option<(ApiKey, OpaqueSecret)>,
}

/// Creates a user. `actor` is `None` for the CLI and the start-up bootstrap.
pub async fn create_user(
    state: &AppState,
    actor: Option<&Principal>,
    username: Username,
    password: Password,
    roles: Vec<RoleName>,
    issue_api_key: bool,
) -> Result<CreatedUser, AppError> {
    if let Some(actor) = actor {
        delegation::check_live(actor)?;
    }
    let password_hash = state.hasher.hash(password).await?;
    let now = state.clock.now();
    let txn = state.db.write().begin().await?;
    check_role_grant(&txn, actor, &[], &roles).await?;
    let record = users::insert(
        &txn,
        NewUser {
            username: &username,
            password_hash,
            roles: &roles,
            now,
        },
    )
    .await?;
    let mut event = AuditEvent::new("user.create", Outcome::Success)
        .target("user", record.user.id.to_string())
        .details(json!({ "username": record.user.username, "roles": record.roles }));
    if let Some(actor) = actor {
        event = event.actor(&actor.principal);
    }
    audit::record(&txn, event, now).await?;
    let api_key = if issue_api_key {
        Some(api_keys::issue_default_key(&txn, record.user.id, now).await?)
    } else {
        None
    };
    txn.commit().await?;
    Ok(CreatedUser { record, api_key })
}

/// Open self-registration, when `TRIDENT_ALLOW_REGISTRATION` is on (otherwise
/// `NotFound`): a user with the `user` role and, by default, a live API key.
/// Throttled per source address like logins.
pub async fn register(
    state: &AppState,
    username: &str,
    password: Password,
    source_ip: Option<String>,
) -> Result<CreatedUser, AppError> {
    if !state.settings.allow_registration {
        return Err(AppError::NotFound);
    }
    if let Some(ip) = source_ip {
        let wait = state.reports_limiter.check(
            &format!("register:{}", crate::infra::throttle::address_key(&ip)),
            state.clock.now(),
        );
        wait.map_err(|w| AppError::TooManyRequests {
            retry_after: w.num_seconds().max(1) as u64,
        })?;
    }
    let username = Username::parse(username).map_err(|e| AppError::validation("username", e.0))?;
    let roles =
        vec![RoleName::parse(USER_ROLE).map_err(|e| AppError::Unexpected(anyhow::anyhow!(e)))?];
    let issue_key = state.settings.api_key_on_user_create;
    create_user(state, None, username, password, roles, issue_key).await
}

/// Creates the configured administrator when the database has no user yet.
pub async fn bootstrap_admin(state: &AppState) -> Result<(), AppError> {
    let Some((username, password)) = &state.settings.admin else {
        return Ok(());
    };
    if users::count(state.db.read()).await? > 0 {
        return Ok(());
    }
    let username = Username::parse(username)
        .map_err(|e| AppError::validation("TRIDENT_ADMIN_USERNAME", e.0))?;
    let password = Password::parse(secrecy::ExposeSecret::expose_secret(password).to_owned())
        .map_err(|e| AppError::validation("TRIDENT_ADMIN_PASSWORD", e.0))?;
    let roles =
        vec![RoleName::parse(ADMIN_ROLE).map_err(|e| AppError::Unexpected(anyhow::anyhow!(e)))?];
    // No automatic API key: its secret could only go to the log.
    let created = create_user(state, None, username, password, roles, false).await?;
    tracing::info!(user_id = %created.record.user.id, "created the initial administrator");
    Ok(())
}

pub async fn list_users(
    state: &AppState,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Page<UserRecord>, AppError> {
    Ok(users::list(state.db.read(), after, limit).await?)
}

pub async fn get_user(state: &AppState, id: Uuid) -> Result<UserRecord, AppError> {
    users::find_record(state.db.read(), id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Refuses a change that would leave no enabled administrator.
async fn keep_an_admin(
    db: &impl sea_orm::ConnectionTrait,
    target: &UserRecord,
    loses_admin: bool,
) -> Result<(), AppError> {
    let is_admin = target.roles.iter().any(|r| r == ADMIN_ROLE) && !target.user.disabled;
    if !(is_admin && loses_admin) {
        return Ok(());
    }
    users::lock_holders(db, ADMIN_ROLE).await?;
    if users::count_holders(db, ADMIN_ROLE, target.user.id).await? == 0 {
        return Err(AppError::Conflict(
            "this is the last enabled administrator".into(),
        ));
    }
    Ok(())
}

pub async fn update_user(
    state: &AppState,
    actor: &Principal,
    id: Uuid,
    update: UserUpdate,
) -> Result<UserRecord, AppError> {
    delegation::check_live(actor)?;
    let password_hash = match update.password {
        Some(password) => Some(state.hasher.hash(password).await?),
        None => None,
    };
    let now = state.clock.now();
    let txn = state.db.write().begin().await?;
    let current = users::find_record(&txn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let drops_admin = update
        .roles
        .as_ref()
        .is_some_and(|roles| !roles.iter().any(|r| r.as_str() == ADMIN_ROLE));
    check_power_over(&txn, actor, &current.roles).await?;
    keep_an_admin(&txn, &current, drops_admin || update.disabled == Some(true)).await?;
    if let Some(roles) = &update.roles {
        check_role_grant(&txn, Some(actor), &current.roles, roles).await?;
    }
    let password_changed = password_hash.is_some();
    let details = json!({
        "password_changed": password_changed,
        "disabled": update.disabled,
        "roles": update.roles.as_ref().map(|r| r.iter().map(RoleName::as_str).collect::<Vec<_>>()),
    });
    let record = users::update(
        &txn,
        id,
        UserChanges {
            password_hash,
            disabled: update.disabled,
            roles: update.roles,
            now,
        },
    )
    .await?
    .ok_or(AppError::NotFound)?;
    // A new password ends every session the old one opened; re-enabling must not
    // bring old sessions back. Both kinds: API sessions and signed-in browsers.
    let ends_sessions = if password_changed {
        Some("password_changed")
    } else if update.disabled == Some(true) {
        Some("user_disabled")
    } else {
        None
    };
    if let Some(reason) = ends_sessions {
        refresh_tokens::revoke_all_for_user(&txn, id, reason, now).await?;
        browser_sessions::delete_for_user(&txn, id).await?;
    }
    audit::record(
        &txn,
        AuditEvent::new("user.update", Outcome::Success)
            .actor(&actor.principal)
            .target("user", id.to_string())
            .details(details),
        now,
    )
    .await?;
    state.commit_credential_change(txn).await?;
    Ok(record)
}

pub async fn delete_user(state: &AppState, actor: &Principal, id: Uuid) -> Result<(), AppError> {
    delegation::check_live(actor)?;
    let now = state.clock.now();
    let txn = state.db.write().begin().await?;
    let current = users::find_record(&txn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    check_power_over(&txn, actor, &current.roles).await?;
    keep_an_admin(&txn, &current, true).await?;
    users::delete(&txn, id).await?;
    audit::record(
        &txn,
        AuditEvent::new("user.delete", Outcome::Success)
            .actor(&actor.principal)
            .target("user", id.to_string())
            .details(json!({ "username": current.user.username })),
        now,
    )
    .await?;
    state.commit_credential_change(txn).await?;
    Ok(())
}

pub async fn list_roles(
    state: &AppState,
    after: Option<&str>,
    limit: u64,
) -> Result<Page<RoleRecord>, AppError> {
    Ok(roles::list(state.db.read(), after, limit).await?)
}

/// Every permission some role grants: the choices of a permission picker.
pub async fn known_permissions(state: &AppState) -> Result<Vec<String>, AppError> {
    Ok(roles::all_permissions(state.db.read()).await?)
}

pub async fn get_role(state: &AppState, name: &str) -> Result<RoleRecord, AppError> {
    roles::find(state.db.read(), name)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn create_role(
    state: &AppState,
    actor: &Principal,
    name: RoleName,
    description: &str,
    permissions: ScopeSet,
) -> Result<RoleRecord, AppError> {
    delegation::check_live(actor)?;
    check_grant(actor, "permissions", permissions.iter().map(|p| p.as_str()))?;
    let now = state.clock.now();
    let txn = state.db.write().begin().await?;
    roles::insert(&txn, &name, description, &permissions, now).await?;
    audit::record(
        &txn,
        AuditEvent::new("role.create", Outcome::Success)
            .actor(&actor.principal)
            .target("role", name.as_str())
            .details(json!({ "permissions": permissions.to_strings() })),
        now,
    )
    .await?;
    let record = roles::find(&txn, name.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    Ok(record)
}

/// Replaces a role's description and permissions (PUT). The built-in `admin` role keeps its permissions.
pub async fn replace_role(
    state: &AppState,
    actor: &Principal,
    name: &str,
    description: &str,
    permissions: ScopeSet,
) -> Result<RoleRecord, AppError> {
    delegation::check_live(actor)?;
    let now = state.clock.now();
    let txn = state.db.write().begin().await?;
    let current = roles::find(&txn, name).await?.ok_or(AppError::NotFound)?;
    check_power_over_role(actor, &current)?;
    if current.role.name == ADMIN_ROLE {
        let held = ScopeSet::parse_all(current.permissions.iter().map(String::as_str))
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!(e)))?;
        if !held.is_subset(&permissions) {
            return Err(AppError::Conflict(
                "the admin role cannot lose permissions".into(),
            ));
        }
    }
    // Permissions added to a role reach every holder: the grantor must hold them.
    check_grant(
        actor,
        "permissions",
        permissions
            .iter()
            .map(|p| p.as_str())
            .filter(|p| !current.permissions.iter().any(|held| held == p)),
    )?;
    roles::set_description(&txn, name, description).await?;
    roles::set_permissions(&txn, name, &permissions).await?;
    audit::record(
        &txn,
        AuditEvent::new("role.update", Outcome::Success)
            .actor(&actor.principal)
            .target("role", name)
            .details(json!({ "permissions": permissions.to_strings() })),
        now,
    )
    .await?;
    let record = roles::find(&txn, name).await?.ok_or(AppError::NotFound)?;
    state.commit_credential_change(txn).await?;
    Ok(record)
}

pub async fn delete_role(state: &AppState, actor: &Principal, name: &str) -> Result<(), AppError> {
    delegation::check_live(actor)?;
    let now = state.clock.now();
    let txn = state.db.write().begin().await?;
    let current = roles::find(&txn, name).await?.ok_or(AppError::NotFound)?;
    check_power_over_role(actor, &current)?;
    if current.role.builtin {
        return Err(AppError::Conflict(
            "built-in roles cannot be deleted".into(),
        ));
    }
    roles::delete(&txn, name).await?;
    audit::record(
        &txn,
        AuditEvent::new("role.delete", Outcome::Success)
            .actor(&actor.principal)
            .target("role", name),
        now,
    )
    .await?;
    state.commit_credential_change(txn).await?;
    Ok(())
}
