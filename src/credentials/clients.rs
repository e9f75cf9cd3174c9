//! Registered OAuth2 clients (trusted machines): registration, secrets with
//! rotation, and client authentication (RFC 6749 §2.3.1). An unknown client and
//! a wrong secret cost the same work and fail the same way.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use entity::clients::Model as Client;
use sea_orm::TransactionTrait;
use serde_json::json;
use uuid::Uuid;

use super::{delegation, validate_name};
use crate::config::{MAX_CLIENT_TOKEN_TTL_SECS, MIN_CLIENT_TOKEN_TTL_SECS};
use crate::domain::{
    CredentialKind, CredentialRef, Grants, Principal, PrincipalKind, PrincipalRef, RoleName,
};
use crate::error::AppError;
use crate::infra::cache::CredentialCache;
use crate::secret::{random_base62, Digest, OpaqueSecret, SecretKind};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::clients::{self, ClientChanges, ClientRecord, NewClient};
use crate::store::Page;

pub const CLIENT_ID_PREFIX: &str = "cli_";
const CLIENT_ID_RANDOM_CHARS: usize = 24;
/// Default time the previous secret keeps working after a rotation.
pub const DEFAULT_SECRET_GRACE: Duration = Duration::hours(24);
pub const MAX_SECRET_GRACE: Duration = Duration::days(30);

pub fn client_ref(client: &Client) -> PrincipalRef {
    PrincipalRef {
        kind: PrincipalKind::Client,
        id: client.client_id.clone(),
        name: client.name.clone(),
    }
}

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

pub struct NewClientInput {
    pub name: String,
    pub roles: Vec<RoleName>,
    pub access_token_ttl_seconds: Option<i64>,
}

/// Registers a client; its first secret is returned once.
pub async fn create(
    state: &AppState,
    actor: Option<&Principal>,
    input: NewClientInput,
) -> Result<(ClientRecord, OpaqueSecret), AppError> {
    if let Some(actor) = actor {
        delegation::check_live(actor)?;
    }
    validate_name(&input.name)?;
    if let Some(ttl) = input.access_token_ttl_seconds {
        validate_ttl(ttl)?;
    }
    let now = state.clock.now();
    let client_id = format!(
        "{CLIENT_ID_PREFIX}{}",
        random_base62(CLIENT_ID_RANDOM_CHARS)
    );
    let secret = OpaqueSecret::generate(SecretKind::ClientSecret);
    let txn = state.db.write().begin().await?;
    crate::accounts::check_role_grant(&txn, actor, &[], &input.roles).await?;
    let record = clients::insert(
        &txn,
        NewClient {
            client_id: &client_id,
            name: &input.name,
            roles: &input.roles,
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
    state: &AppState,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Page<ClientRecord>, AppError> {
    Ok(clients::list(state.db.read(), after, limit).await?)
}

/// The secrets of a client that still work (the current one and any in their grace period).
pub async fn live_secrets(
    state: &AppState,
    id: Uuid,
) -> Result<Vec<entity::client_secrets::Model>, AppError> {
    Ok(clients::live_secrets(state.db.read(), id, state.clock.now()).await?)
}

pub async fn get(state: &AppState, id: Uuid) -> Result<ClientRecord, AppError> {
    clients::find_record(state.db.read(), id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn update(
    state: &AppState,
    actor: &Principal,
    id: Uuid,
    changes: ClientChanges,
) -> Result<ClientRecord, AppError> {
    delegation::check_live(actor)?;
    if let Some(name) = &changes.name {
        validate_name(name)?;
    }
    if let Some(Some(ttl)) = changes.access_token_ttl_seconds {
        validate_ttl(ttl)?;
    }
    let now = changes.now;
    let details = json!({
        "name": changes.name,
        "disabled": changes.disabled,
        "roles": changes.roles.as_ref().map(|r| r.iter().map(RoleName::as_str).collect::<Vec<_>>()),
    });
    let txn = state.db.write().begin().await?;
    let current = clients::find_record(&txn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::accounts::check_power_over(&txn, actor, &current.roles).await?;
    if let Some(roles) = &changes.roles {
        crate::accounts::check_role_grant(&txn, Some(actor), &current.roles, roles).await?;
    }
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
    state.commit_credential_change(txn).await?;
    Ok(record)
}

pub async fn delete(state: &AppState, actor: &Principal, id: Uuid) -> Result<(), AppError> {
    delegation::check_live(actor)?;
    let now = state.clock.now();
    let txn = state.db.write().begin().await?;
    let record = clients::find_record(&txn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::accounts::check_power_over(&txn, actor, &record.roles).await?;
    clients::delete(&txn, id).await?;
    audit::record(
        &txn,
        AuditEvent::new("client.delete", Outcome::Success)
            .actor(&actor.principal)
            .target("client", record.client.client_id),
        now,
    )
    .await?;
    state.commit_credential_change(txn).await?;
    Ok(())
}

/// A secret rotation: the client as it was rotated, the new secret's row, and
/// the secret itself (shown once).
pub struct RotatedSecret {
    pub client: ClientRecord,
    pub row: entity::client_secrets::Model,
    pub secret: OpaqueSecret,
}

/// Adds a new secret; the previous ones keep working for `grace`, then stop.
pub async fn rotate_secret(
    state: &AppState,
    actor: &Principal,
    id: Uuid,
    grace: Duration,
) -> Result<RotatedSecret, AppError> {
    delegation::check_live(actor)?;
    if grace < Duration::zero() || grace > MAX_SECRET_GRACE {
        return Err(AppError::validation(
            "grace_seconds",
            format!("must be between 0 and {}", MAX_SECRET_GRACE.num_seconds()),
        ));
    }
    let now = state.clock.now();
    let secret = OpaqueSecret::generate(SecretKind::ClientSecret);
    let txn = state.db.write().begin().await?;
    let record = clients::find_record(&txn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    // A new secret is the client's power in the caller's hands.
    crate::accounts::check_power_over(&txn, actor, &record.roles).await?;
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
    state.commit_credential_change(txn).await?;
    Ok(RotatedSecret {
        client: record,
        row,
        secret,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// Unknown client, wrong or expired secret, or disabled client: one answer.
    #[error("client authentication failed")]
    Failed,
    #[error("too many failed attempts")]
    Throttled { retry_after: u64 },
    /// The database is down: retry after this many seconds.
    #[error("temporarily unavailable")]
    Unavailable { retry_after: u64 },
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<AppError> for ClientAuthError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Unavailable { retry_after } => ClientAuthError::Unavailable { retry_after },
            other => ClientAuthError::Unexpected(anyhow::anyhow!(other)),
        }
    }
}

impl From<crate::store::StoreError> for ClientAuthError {
    fn from(err: crate::store::StoreError) -> Self {
        AppError::from(err).into()
    }
}

fn throttle_keys(client_id: &str, source_ip: Option<&str>) -> Vec<String> {
    let mut keys = vec![format!("client:{client_id}")];
    if let Some(ip) = source_ip {
        keys.push(format!("ip:{}", crate::infra::throttle::address_key(ip)));
    }
    keys
}

fn retry_after(wait: Duration) -> ClientAuthError {
    ClientAuthError::Throttled {
        retry_after: wait.num_seconds().max(1) as u64,
    }
}

/// Authenticates a client by id and secret (RFC 6749 §2.3.1); also says until
/// when the matching secret works (`None`: until rotated).
///
/// The secret is checked first: a client secret carries 256 random bits, so
/// guessing it is hopeless and a lock-out would only let anyone who knows the
/// (public) client_id lock the client out. Failures alone are charged, per
/// client id and per source address, and once a budget is spent further
/// *failures* are answered 429 without being audited one by one (so a flood
/// writes nothing); a correct secret is never refused for someone else's.
pub async fn authenticate(
    state: &AppState,
    client_id: &str,
    presented_secret: &str,
    source_ip: Option<&str>,
) -> Result<(Client, Option<DateTime<Utc>>), ClientAuthError> {
    let now = state.clock.now();
    let db = state.db.read();
    // A client_id we could never have issued is unknown without asking the database
    // (PostgreSQL refuses NUL in text); the rest of the work below is still done.
    let plausible = client_id.len() <= 64 && !client_id.contains('\0');
    let client = match plausible {
        true => clients::find_by_client_id(db, client_id).await?,
        false => None,
    };
    // The same queries and comparisons run whether or not the client exists.
    let secrets =
        clients::live_secrets(db, client.as_ref().map_or(Uuid::nil(), |c| c.id), now).await?;
    let presented = OpaqueSecret::parse(presented_secret)
        .filter(|s| s.kind() == SecretKind::ClientSecret)
        .map_or(Digest([0; 32]), |s| s.digest());
    let mut matched = false;
    let mut secret_expires_at = None;
    for secret in &secrets {
        if presented.verify(&secret.digest) {
            matched = true;
            secret_expires_at = secret.expires_at;
        }
    }
    if secrets.is_empty() {
        let _ = presented.verify(&[0xff; 32]);
    }
    match client {
        Some(client) if matched && !client.disabled => Ok((client, secret_expires_at)),
        _ => {
            let mut throttled = Ok(());
            for key in &throttle_keys(client_id, source_ip) {
                throttled = throttled.and(state.client_auth_limiter.check(key, now));
            }
            throttled.map_err(retry_after)?;
            audit::record(
                state.db.write(),
                AuditEvent::new("client.authenticate", Outcome::Failure)
                    .source_ip(source_ip.map(str::to_owned))
                    .details(json!({ "client_id": client_id })),
                now,
            )
            .await?;
            Err(ClientAuthError::Failed)
        }
    }
}

/// The lifetime of the client's access tokens.
pub fn token_ttl(state: &AppState, client: &Client) -> Duration {
    client
        .access_token_ttl_seconds
        .map(Duration::seconds)
        .unwrap_or_else(|| {
            Duration::from_std(state.settings.client_token_ttl).unwrap_or(Duration::minutes(15))
        })
}

/// A client that proved its secret, with what it may currently do.
pub struct AuthenticatedClient {
    pub client: Client,
    pub grants: Grants,
}

impl AuthenticatedClient {
    /// The client as the caller of an endpoint, authenticated by its secret.
    pub fn principal(&self) -> Principal {
        Principal {
            principal: client_ref(&self.client),
            credential: CredentialRef {
                kind: CredentialKind::ClientSecret,
                id: self.client.client_id.clone(),
                environment: None,
                expires_at: None,
                follows_principal: true,
            },
            scopes: self.grants.permissions.clone(),
            roles: self.grants.roles.clone(),
        }
    }
}

pub type ClientCache = CredentialCache<AuthenticatedClient>;

/// [`authenticate`] and the client's grants, from the cache when warm: resource
/// servers authenticate on every introspection call, and this keeps it to a hash.
pub async fn authenticate_cached(
    state: &AppState,
    client_id: &str,
    secret: &str,
    source_ip: Option<&str>,
) -> Result<Arc<AuthenticatedClient>, ClientAuthError> {
    let now = state.clock.now();
    let key = ClientCache::key(&[b"client", client_id.as_bytes(), secret.as_bytes()]);
    if let Some(hit) = state.clients.get(&key, now) {
        return Ok(hit);
    }
    let generation = state.clients.generation();
    let (client, secret_expires_at) = authenticate(state, client_id, secret, source_ip).await?;
    let grants = clients::grants(state.db.read(), client.id).await?;
    let authenticated = Arc::new(AuthenticatedClient { client, grants });
    state.clients.insert(
        key,
        authenticated.clone(),
        secret_expires_at,
        generation,
        now,
    );
    Ok(authenticated)
}
