//! Roles and their permissions. Changing a role reaches every holder at once.

use sea_orm::TransactionTrait;
use serde_json::json;

use super::grants::{check_grant, check_power_over_role};
use super::{AccountDeps, ADMIN_ROLE};
use crate::credentials::changes::Change;
use crate::credentials::delegation;
use crate::domain::{Permission, Principal, RoleName, ScopeSet};
use crate::error::AppError;
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::roles::{self, RoleRecord};
use crate::store::Page;

const MAX_DESCRIPTION_CHARS: usize = 500;

/// A role's description and permissions, as the caller typed them.
pub struct RoleInput<'a> {
    pub description: &'a str,
    /// `resource:action` strings.
    pub permissions: &'a [String],
}

fn parse_permissions(permissions: &[String]) -> Result<ScopeSet, AppError> {
    ScopeSet::parse_all(permissions.iter().map(String::as_str))
        .map_err(|e| AppError::validation("permissions", e.to_string()))
}

fn check_description(description: &str) -> Result<(), AppError> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS
        || description.chars().any(char::is_control)
    {
        return Err(AppError::validation(
            "description",
            format!("at most {MAX_DESCRIPTION_CHARS} characters, no control characters"),
        ));
    }
    Ok(())
}

/// A name in a path that is not a valid role name names no role.
fn existing(name: &str) -> Result<RoleName, AppError> {
    RoleName::parse(name).map_err(|_| AppError::NotFound)
}

pub async fn list(
    deps: &AccountDeps<'_>,
    caller: &Principal,
    after: Option<&str>,
    limit: u64,
) -> Result<Page<RoleRecord>, AppError> {
    caller.require(Permission::RolesRead)?;
    Ok(roles::list(deps.credentials.db.read(), after, limit).await?)
}

/// Every role name, ticked where `held` names it: the role checkboxes of a
/// form that gives roles (to whoever may manage users or clients). Every role,
/// page by page: a role missing from the form would be taken away on save.
pub async fn choices(
    deps: &AccountDeps<'_>,
    held: &[String],
) -> Result<Vec<(String, bool)>, AppError> {
    let mut choices = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = roles::list(deps.credentials.db.read(), cursor.as_deref(), 500).await?;
        choices.extend(page.items.into_iter().map(|r| {
            let ticked = held.contains(&r.role.name);
            (r.role.name, ticked)
        }));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(choices),
        }
    }
}

/// Every permission some role grants: the choices of a permission picker (and
/// the metadata's `scopes_supported`).
pub async fn known_permissions(deps: &AccountDeps<'_>) -> Result<Vec<String>, AppError> {
    Ok(roles::all_permissions(deps.credentials.db.read()).await?)
}

pub async fn get(
    deps: &AccountDeps<'_>,
    caller: &Principal,
    name: &str,
) -> Result<RoleRecord, AppError> {
    caller.require(Permission::RolesRead)?;
    let name = existing(name)?;
    roles::find(deps.credentials.db.read(), name.as_str())
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn create(
    deps: &AccountDeps<'_>,
    actor: &Principal,
    name: &str,
    input: RoleInput<'_>,
) -> Result<RoleRecord, AppError> {
    actor.require(Permission::RolesWrite)?;
    let name = RoleName::parse(name).map_err(|e| AppError::validation("name", e.0))?;
    check_description(input.description)?;
    let permissions = parse_permissions(input.permissions)?;
    let deps = &deps.credentials;
    delegation::check_live(actor)?;
    check_grant(actor, "permissions", permissions.iter().map(|p| p.as_str()))?;
    let now = deps.clock.now();
    let txn = deps.db.write().begin().await?;
    roles::insert(&txn, &name, input.description, &permissions, now).await?;
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

/// Replaces a role's description and permissions (PUT). The built-in `admin`
/// role keeps its permissions.
pub async fn replace(
    deps: &AccountDeps<'_>,
    actor: &Principal,
    name: &str,
    input: RoleInput<'_>,
) -> Result<RoleRecord, AppError> {
    actor.require(Permission::RolesWrite)?;
    let name = existing(name)?;
    let name = name.as_str();
    check_description(input.description)?;
    let permissions = parse_permissions(input.permissions)?;
    let deps = &deps.credentials;
    delegation::check_live(actor)?;
    let now = deps.clock.now();
    let txn = deps.db.write().begin().await?;
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
    roles::set_description(&txn, name, input.description).await?;
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
    deps.changes
        .commit(txn, &[Change::Role(name.to_owned())])
        .await?;
    Ok(record)
}

pub async fn delete(deps: &AccountDeps<'_>, actor: &Principal, name: &str) -> Result<(), AppError> {
    actor.require(Permission::RolesWrite)?;
    let name = existing(name)?;
    let name = name.as_str();
    let deps = &deps.credentials;
    delegation::check_live(actor)?;
    let now = deps.clock.now();
    let txn = deps.db.write().begin().await?;
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
    deps.changes
        .commit(txn, &[Change::Role(name.to_owned())])
        .await?;
    Ok(())
}
