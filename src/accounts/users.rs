//! Users: create (with a first API key when configured), register, list, change
//! roles, password and disabled flag, delete — and the bootstrap administrator.

use chrono::{DateTime, Utc};
use entity::api_keys::Model as ApiKey;
use sea_orm::{ConnectionTrait, TransactionTrait};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use super::grants::{check_power_over, check_role_grant};
use super::{AccountDeps, ADMIN_ROLE, USER_ROLE};
use crate::credentials::changes::Change;
use crate::credentials::{api_keys, delegation};
use crate::domain::{Password, Permission, Principal, RoleName, Username};
use crate::error::AppError;
use crate::secret::OpaqueSecret;
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::users::{self, NewUser, UserChanges, UserRecord};
use crate::store::{browser_sessions, refresh_tokens, Page};

/// A user to create, as the caller typed it.
pub struct NewUserInput<'a> {
    pub username: &'a str,
    pub password: &'a SecretString,
    /// `None`: the `user` role.
    pub roles: Option<&'a [String]>,
}

/// Changes to a user, as the caller typed them; `None` leaves a field alone.
#[derive(Default)]
pub struct UserUpdateInput<'a> {
    pub password: Option<&'a SecretString>,
    pub disabled: Option<bool>,
    pub roles: Option<&'a [String]>,
}

/// A new user and, when the setting asks for it, its first API key (shown once).
pub struct CreatedUser {
    pub record: UserRecord,
    pub api_key: Option<(ApiKey, OpaqueSecret)>,
}

/// A password being set: refused when short, overlong or guessable.
pub fn parse_password(password: &SecretString) -> Result<Password, AppError> {
    Password::parse(password.expose_secret().to_owned())
        .map_err(|e| AppError::validation("password", e.0))
}

fn parse_username(username: &str) -> Result<Username, AppError> {
    Username::parse(username).map_err(|e| AppError::validation("username", e.0))
}

fn parse_roles(roles: &[String]) -> Result<Vec<RoleName>, AppError> {
    Ok(RoleName::parse_all(roles.iter().map(String::as_str))?)
}

/// Creates a user for a caller holding `users:write`.
pub async fn create(
    deps: &AccountDeps<'_>,
    actor: &Principal,
    input: NewUserInput<'_>,
) -> Result<CreatedUser, AppError> {
    actor.require(Permission::UsersWrite)?;
    let username = parse_username(input.username)?;
    let password = parse_password(input.password)?;
    let roles = match input.roles {
        Some(roles) => parse_roles(roles)?,
        None => RoleName::parse_all([USER_ROLE])?,
    };
    let issue_key = deps.credentials.settings.api_key_on_user_create;
    create_user(deps, Some(actor), username, password, roles, issue_key).await
}

/// Creates a user. `actor` is `None` for the CLI, self-registration and the
/// start-up bootstrap, which no credential asks for.
pub async fn create_user(
    deps: &AccountDeps<'_>,
    actor: Option<&Principal>,
    username: Username,
    password: Password,
    roles: Vec<RoleName>,
    issue_api_key: bool,
) -> Result<CreatedUser, AppError> {
    let deps = &deps.credentials;
    if let Some(actor) = actor {
        delegation::check_live(actor)?;
    }
    let password_hash = deps.hasher.hash(password).await?;
    let now = deps.clock.now();
    let txn = deps.db.write().begin().await?;
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
    deps: &AccountDeps<'_>,
    username: &str,
    password: Password,
    source_ip: Option<String>,
) -> Result<CreatedUser, AppError> {
    let settings = deps.credentials.settings;
    if !settings.allow_registration {
        return Err(AppError::NotFound);
    }
    if let Some(ip) = source_ip {
        let wait = deps.reports_limiter.check(
            &format!("register:{}", crate::infra::throttle::address_key(&ip)),
            deps.credentials.clock.now(),
        );
        wait.map_err(|w| AppError::TooManyRequests {
            retry_after: w.num_seconds().max(1) as u64,
        })?;
    }
    let username = parse_username(username)?;
    let roles = RoleName::parse_all([USER_ROLE])?;
    let issue_key = settings.api_key_on_user_create;
    create_user(deps, None, username, password, roles, issue_key).await
}

/// Creates the configured administrator when the database has no user yet.
pub async fn bootstrap_admin(deps: &AccountDeps<'_>) -> Result<(), AppError> {
    let Some((username, password)) = &deps.credentials.settings.admin else {
        return Ok(());
    };
    if users::count(deps.credentials.db.read()).await? > 0 {
        return Ok(());
    }
    let username = Username::parse(username)
        .map_err(|e| AppError::validation("TRIDENT_ADMIN_USERNAME", e.0))?;
    let password = Password::parse(password.expose_secret().to_owned())
        .map_err(|e| AppError::validation("TRIDENT_ADMIN_PASSWORD", e.0))?;
    let roles = RoleName::parse_all([ADMIN_ROLE])?;
    // No automatic API key: its secret could only go to the log.
    let created = create_user(deps, None, username, password, roles, false).await?;
    tracing::info!(user_id = %created.record.user.id, "created the initial administrator");
    Ok(())
}

pub async fn list(
    deps: &AccountDeps<'_>,
    caller: &Principal,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Page<UserRecord>, AppError> {
    caller.require(Permission::UsersRead)?;
    Ok(users::list(deps.credentials.db.read(), after, limit).await?)
}

pub async fn get(
    deps: &AccountDeps<'_>,
    caller: &Principal,
    id: Uuid,
) -> Result<UserRecord, AppError> {
    caller.require(Permission::UsersRead)?;
    users::find_record(deps.credentials.db.read(), id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Refuses a change that would leave no enabled administrator.
async fn keep_an_admin(
    db: &impl ConnectionTrait,
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

/// Changes a user's password, roles or disabled flag. A new password or
/// disabling ends the user's sessions.
pub async fn update(
    deps: &AccountDeps<'_>,
    actor: &Principal,
    id: Uuid,
    input: UserUpdateInput<'_>,
) -> Result<UserRecord, AppError> {
    actor.require(Permission::UsersWrite)?;
    let password = input.password.map(parse_password).transpose()?;
    let roles = input.roles.map(parse_roles).transpose()?;
    let deps = &deps.credentials;
    delegation::check_live(actor)?;
    let password_hash = match password {
        Some(password) => Some(deps.hasher.hash(password).await?),
        None => None,
    };
    let now = deps.clock.now();
    let txn = deps.db.write().begin().await?;
    let current = users::find_record(&txn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let drops_admin = roles
        .as_ref()
        .is_some_and(|roles| !roles.iter().any(|r| r.as_str() == ADMIN_ROLE));
    check_power_over(&txn, actor, &current.roles).await?;
    keep_an_admin(&txn, &current, drops_admin || input.disabled == Some(true)).await?;
    if let Some(roles) = &roles {
        check_role_grant(&txn, Some(actor), &current.roles, roles).await?;
    }
    let password_changed = password_hash.is_some();
    let details = json!({
        "password_changed": password_changed,
        "disabled": input.disabled,
        "roles": roles.as_ref().map(|r| r.iter().map(RoleName::as_str).collect::<Vec<_>>()),
    });
    let record = users::update(
        &txn,
        id,
        UserChanges {
            password_hash,
            disabled: input.disabled,
            roles,
            now,
        },
    )
    .await?
    .ok_or(AppError::NotFound)?;
    // A new password ends every session the old one opened; re-enabling must not
    // bring old sessions back. Both kinds: API sessions and signed-in browsers.
    let ends_sessions = if password_changed {
        Some("password_changed")
    } else if input.disabled == Some(true) {
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
    deps.changes.commit(txn, &[Change::User(id)]).await?;
    Ok(record)
}

/// Deletes a user and, with it, all of its credentials.
pub async fn delete(deps: &AccountDeps<'_>, actor: &Principal, id: Uuid) -> Result<(), AppError> {
    actor.require(Permission::UsersWrite)?;
    let deps = &deps.credentials;
    delegation::check_live(actor)?;
    let now: DateTime<Utc> = deps.clock.now();
    let txn = deps.db.write().begin().await?;
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
    deps.changes.commit(txn, &[Change::User(id)]).await?;
    Ok(())
}
