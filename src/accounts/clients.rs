//! Registered OAuth2 clients (trusted machines): registration with a first
//! secret, changes, deletion, and secret rotation with a grace period. How a
//! client authenticates is the protocol's business (`oauth::client_authentication`).

use chrono::Duration;
use entity::client_secrets::Model as ClientSecret;
use sea_orm::TransactionTrait;
use serde_json::json;
use uuid::Uuid;

use super::grants::{check_power_over, check_role_grant};
use super::AccountDeps;
use crate::config::{MAX_CLIENT_TOKEN_TTL_SECS, MIN_CLIENT_TOKEN_TTL_SECS};
use crate::credentials::changes::Change;
use crate::credentials::{delegation, validate_name};
use crate::domain::{Permission, Principal, RoleName};
use crate::error::AppError;
use crate::secret::{random_base62, OpaqueSecret, SecretKind};
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::clients::{self, ClientChanges, ClientRecord, NewClient};
use crate::store::Page;

pub const CLIENT_ID_PREFIX: &str = "cli_";
const CLIENT_ID_RANDOM_CHARS: usize = 24;
/// Default time the previous secret keeps working after a rotation.
pub const DEFAULT_SECRET_GRACE: Duration = Duration::hours(24);
pub const MAX_SECRET_GRACE: Duration = Duration::days(30);

pub fn validate_ttl(ttl: i64) -> Result<(), AppError> {
    let (min, max) = (
        MIN_CLIENT_TOKEN_TTL_SECS as i64,
        MAX_CLIENT_TOKEN_TTL_SECS as i64,
    );
    if (min..=max).contains(&ttl) {
        Ok(())
    } else {
        Err(AppError::validation(
            "access_token_ttl_seconds",
            format!("must be between {min} and {max}"),
        ))
    }
}

fn parse_roles(roles: &[String]) -> Result<Vec<RoleName>, AppError> {
    Ok(RoleName::parse_all(roles.iter().map(String::as_str))?)
}

/// A client to register, as the caller typed it.
pub struct NewClientInput<'a> {
    pub name: &'a str,
    pub roles: &'a [String],
    pub access_token_ttl_seconds: Option<i64>,
}

/// Changes to a client; `None` leaves a field alone.
#[derive(Default)]
pub struct ClientUpdateInput<'a> {
    pub name: Option<&'a str>,
    pub roles: Option<&'a [String]>,
    pub disabled: Option<bool>,
    /// `Some(None)` goes back to the server's default lifetime.
    pub access_token_ttl_seconds: Option<Option<i64>>,
}

/// Registers a client; its first secret is returned once. `actor` is `None`
/// for the CLI, which no credential asks for.
pub async fn create(
    deps: &AccountDeps<'_>,
    actor: Option<&Principal>,
    input: NewClientInput<'_>,
) -> Result<(ClientRecord, OpaqueSecret), AppError> {
    if let Some(actor) = actor {
        actor.require(Permission::ClientsWrite)?;
    }
    let roles = parse_roles(input.roles)?;
    let deps = &deps.credentials;
    if let Some(actor) = actor {
        delegation::check_live(actor)?;
    }
    validate_name(input.name)?;
    if let Some(ttl) = input.access_token_ttl_seconds {
        validate_ttl(ttl)?;
    }
    let now = deps.clock.now();
    let client_id = format!(
        "{CLIENT_ID_PREFIX}{}",
        random_base62(CLIENT_ID_RANDOM_CHARS)
    );
    let secret = OpaqueSecret::generate(SecretKind::ClientSecret);
    let txn = deps.db.write().begin().await?;
    check_role_grant(&txn, actor, &[], &roles).await?;
    let record = clients::insert(
        &txn,
        NewClient {
            client_id: &client_id,
            name: input.name,
            roles: &roles,
            access_token_ttl_seconds: input.access_token_ttl_seconds,
            now,
        },
    )
    .await?;
    clients::add_secret(&txn, record.client.id, &secret, None, now).await?;
    let mut event = AuditEvent::new("client.create", Outcome::Success)
        .target("client", client_id.clone())
        .details(json!({ "name": input.name, "roles": record.roles }));
    if let Some(actor) = actor {
        event = event.actor(&actor.principal);
    }
    audit::record(&txn, event, now).await?;
    txn.commit().await?;
    Ok((record, secret))
}

pub async fn list(
    deps: &AccountDeps<'_>,
    caller: &Principal,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Page<ClientRecord>, AppError> {
    caller.require(Permission::ClientsRead)?;
    Ok(clients::list(deps.credentials.db.read(), after, limit).await?)
}

pub async fn get(
    deps: &AccountDeps<'_>,
    caller: &Principal,
    id: Uuid,
) -> Result<ClientRecord, AppError> {
    caller.require(Permission::ClientsRead)?;
    clients::find_record(deps.credentials.db.read(), id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The secrets of a client that still work (the current one and any in their grace period).
pub async fn live_secrets(
    deps: &AccountDeps<'_>,
    caller: &Principal,
    id: Uuid,
) -> Result<Vec<ClientSecret>, AppError> {
    caller.require(Permission::ClientsRead)?;
    let deps = &deps.credentials;
    Ok(clients::live_secrets(deps.db.read(), id, deps.clock.now()).await?)
}

/// Renames a client, changes its roles or token lifetime, or disables it; a
/// disabled client's tokens stop working at once.
pub async fn update(
    deps: &AccountDeps<'_>,
    actor: &Principal,
    id: Uuid,
    input: ClientUpdateInput<'_>,
) -> Result<ClientRecord, AppError> {
    actor.require(Permission::ClientsWrite)?;
    let roles = input.roles.map(parse_roles).transpose()?;
    let deps = &deps.credentials;
    delegation::check_live(actor)?;
    if let Some(name) = input.name {
        validate_name(name)?;
    }
    if let Some(Some(ttl)) = input.access_token_ttl_seconds {
        validate_ttl(ttl)?;
    }
    let now = deps.clock.now();
    let details = json!({
        "name": input.name,
        "disabled": input.disabled,
        "roles": roles.as_ref().map(|r| r.iter().map(RoleName::as_str).collect::<Vec<_>>()),
    });
    let txn = deps.db.write().begin().await?;
    let current = clients::find_record(&txn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    check_power_over(&txn, actor, &current.roles).await?;
    if let Some(roles) = &roles {
        check_role_grant(&txn, Some(actor), &current.roles, roles).await?;
    }
    let changes = ClientChanges {
        name: input.name.map(str::to_owned),
        disabled: input.disabled,
        roles,
        access_token_ttl_seconds: input.access_token_ttl_seconds,
        now,
    };
    let record = clients::update(&txn, id, changes)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        &txn,
        AuditEvent::new("client.update", Outcome::Success)
            .actor(&actor.principal)
            .target("client", record.client.client_id.clone())
            .details(details),
        now,
    )
    .await?;
    deps.changes
        .commit(txn, &[Change::Client(record.client.client_id.clone())])
        .await?;
    Ok(record)
}

/// Deletes a client; its tokens stop working at once.
pub async fn delete(deps: &AccountDeps<'_>, actor: &Principal, id: Uuid) -> Result<(), AppError> {
    actor.require(Permission::ClientsWrite)?;
    let deps = &deps.credentials;
    delegation::check_live(actor)?;
    let now = deps.clock.now();
    let txn = deps.db.write().begin().await?;
    let record = clients::find_record(&txn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    check_power_over(&txn, actor, &record.roles).await?;
    clients::delete(&txn, id).await?;
    audit::record(
        &txn,
        AuditEvent::new("client.delete", Outcome::Success)
            .actor(&actor.principal)
            .target("client", record.client.client_id.clone()),
        now,
    )
    .await?;
    deps.changes
        .commit(txn, &[Change::Client(record.client.client_id)])
        .await?;
    Ok(())
}

/// A secret rotation: the client as it was rotated, the new secret's row, and
/// the secret itself (shown once).
pub struct RotatedSecret {
    pub client: ClientRecord,
    pub row: ClientSecret,
    pub secret: OpaqueSecret,
}

/// Adds a new secret; the previous ones keep working for `grace`, then stop.
pub async fn rotate_secret(
    deps: &AccountDeps<'_>,
    actor: &Principal,
    id: Uuid,
    grace: Duration,
) -> Result<RotatedSecret, AppError> {
    actor.require(Permission::ClientsWrite)?;
    let deps = &deps.credentials;
    delegation::check_live(actor)?;
    if grace < Duration::zero() || grace > MAX_SECRET_GRACE {
        return Err(AppError::validation(
            "grace_seconds",
            format!("must be between 0 and {}", MAX_SECRET_GRACE.num_seconds()),
        ));
    }
    let now = deps.clock.now();
    let secret = OpaqueSecret::generate(SecretKind::ClientSecret);
    let txn = deps.db.write().begin().await?;
    let record = clients::find_record(&txn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    // A new secret is the client's power in the caller's hands.
    check_power_over(&txn, actor, &record.roles).await?;
    let row = clients::add_secret(&txn, id, &secret, Some(now + grace), now).await?;
    audit::record(
        &txn,
        AuditEvent::new("client.secret_rotate", Outcome::Success)
            .actor(&actor.principal)
            .target("client", record.client.client_id.clone())
            .details(json!({ "grace_seconds": grace.num_seconds() })),
        now,
    )
    .await?;
    deps.changes
        .commit(txn, &[Change::Client(record.client.client_id.clone())])
        .await?;
    Ok(RotatedSecret {
        client: record,
        row,
        secret,
    })
}
