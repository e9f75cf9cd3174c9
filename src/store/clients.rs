use chrono::{DateTime, Utc};
use entity::{client_roles, client_secrets, clients};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::role_links::RoleLinks;
use super::users::ensure_roles_exist;
use super::{Page, StoreError};
use crate::domain::Grants;
use crate::domain::{PrincipalKind, PrincipalRef, RoleName};
use crate::secret::OpaqueSecret;

#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub client: clients::Model,
    pub roles: Vec<String>,
}

pub struct NewClient<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub roles: &'a [RoleName],
    pub access_token_ttl_seconds: Option<i64>,
    pub now: DateTime<Utc>,
}

/// The principal a client is: named by its OAuth `client_id`, not its resource id.
pub fn principal_ref(client: &clients::Model) -> PrincipalRef {
    PrincipalRef {
        kind: PrincipalKind::Client,
        id: client.client_id.clone(),
        name: client.name.clone(),
    }
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewClient<'_>,
) -> Result<ClientRecord, StoreError> {
    ensure_roles_exist(db, new.roles).await?;
    let client = clients::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(new.client_id.to_owned()),
        name: Set(new.name.to_owned()),
        disabled: Set(false),
        access_token_ttl_seconds: Set(new.access_token_ttl_seconds),
        token_generation: Set(0),
        created_at: Set(new.now),
        updated_at: Set(new.now),
    }
    .insert(db)
    .await
    .map_err(|e| StoreError::unique(e, "client_id"))?;
    LINKS.set(db, client.id, new.roles).await?;
    Ok(ClientRecord {
        client,
        roles: new.roles.iter().map(|r| r.as_str().to_owned()).collect(),
    })
}

/// Adds a secret; existing secrets without an end keep working until `previous_until`.
pub async fn add_secret(
    db: &impl ConnectionTrait,
    id: Uuid,
    secret: &OpaqueSecret,
    previous_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<client_secrets::Model, StoreError> {
    if let Some(until) = previous_until {
        client_secrets::Entity::update_many()
            .col_expr(client_secrets::Column::ExpiresAt, Expr::value(until))
            .filter(client_secrets::Column::ClientId.eq(id))
            .filter(
                Condition::any()
                    .add(client_secrets::Column::ExpiresAt.is_null())
                    .add(client_secrets::Column::ExpiresAt.gt(until)),
            )
            .exec(db)
            .await?;
    }
    let model = client_secrets::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(id),
        digest: Set(secret.digest().as_bytes().to_vec()),
        display_prefix: Set(secret.display_prefix()),
        last_chars: Set(secret.last_chars()),
        created_at: Set(now),
        expires_at: Set(None),
    }
    .insert(db)
    .await
    .map_err(|e| StoreError::unique(e, "digest"))?;
    Ok(model)
}

/// The secrets of a client that still work at `now`.
pub async fn live_secrets(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<client_secrets::Model>, StoreError> {
    Ok(client_secrets::Entity::find()
        .filter(client_secrets::Column::ClientId.eq(id))
        .filter(
            Condition::any()
                .add(client_secrets::Column::ExpiresAt.is_null())
                .add(client_secrets::Column::ExpiresAt.gt(now)),
        )
        .order_by_desc(client_secrets::Column::Id)
        .all(db)
        .await?)
}

/// What authenticating a client needs, read in one round trip: the client, its
/// live secrets (newest first) and its grants.
pub struct ForAuthentication {
    pub client: clients::Model,
    pub secrets: Vec<client_secrets::Model>,
    pub grants: Grants,
}

/// The client named `client_id` with its secrets live at `now` and its roles and
/// permissions: one query, one row per live secret (client ⟕ live secrets, the
/// grants aggregated into two columns).
pub async fn find_for_authentication(
    db: &impl ConnectionTrait,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<ForAuthentication>, StoreError> {
    use sea_orm::sea_query::{Alias, Asterisk, Query};
    use sea_orm::FromQueryResult;

    let secret = Alias::new("s");
    let mut query = Query::select();
    query.column((clients::Entity, Asterisk));
    for (column, alias) in [
        (client_secrets::Column::Id, "secret_id"),
        (client_secrets::Column::Digest, "secret_digest"),
        (
            client_secrets::Column::DisplayPrefix,
            "secret_display_prefix",
        ),
        (client_secrets::Column::LastChars, "secret_last_chars"),
        (client_secrets::Column::CreatedAt, "secret_created_at"),
        (client_secrets::Column::ExpiresAt, "secret_expires_at"),
    ] {
        query.expr_as(Expr::col((secret.clone(), column)), Alias::new(alias));
    }
    let client_pk = (clients::Entity, clients::Column::Id);
    query
        .expr_as(
            LINKS.roles_of(Expr::col(client_pk)),
            Alias::new("client_roles"),
        )
        .expr_as(
            LINKS.permissions_of(Expr::col(client_pk)),
            Alias::new("client_permissions"),
        )
        .from(clients::Entity)
        .join_as(
            sea_orm::JoinType::LeftJoin,
            client_secrets::Entity,
            secret.clone(),
            Condition::all()
                .add(
                    Expr::col((secret.clone(), client_secrets::Column::ClientId))
                        .equals((clients::Entity, clients::Column::Id)),
                )
                .add(
                    Condition::any()
                        .add(
                            Expr::col((secret.clone(), client_secrets::Column::ExpiresAt))
                                .is_null(),
                        )
                        .add(
                            Expr::col((secret.clone(), client_secrets::Column::ExpiresAt)).gt(now),
                        ),
                ),
        )
        .and_where(Expr::col((clients::Entity, clients::Column::ClientId)).eq(client_id));
    let rows = db
        .query_all(db.get_database_backend().build(&query))
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let client = clients::Model::from_query_result(first, "")?;
    let mut secrets: Vec<client_secrets::Model> = Vec::new();
    for row in &rows {
        if let Some(id) = row.try_get::<Option<Uuid>>("", "secret_id")? {
            if !secrets.iter().any(|s| s.id == id) {
                secrets.push(client_secrets::Model {
                    id,
                    client_id: client.id,
                    digest: row.try_get("", "secret_digest")?,
                    display_prefix: row.try_get("", "secret_display_prefix")?,
                    last_chars: row.try_get("", "secret_last_chars")?,
                    created_at: row.try_get("", "secret_created_at")?,
                    expires_at: row.try_get("", "secret_expires_at")?,
                });
            }
        }
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.id));
    Ok(Some(ForAuthentication {
        client,
        secrets,
        grants: super::role_links::grants_from_lists(first, "client_roles", "client_permissions")?,
    }))
}

pub async fn find_record(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<ClientRecord>, StoreError> {
    let Some(client) = clients::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let mut roles = LINKS.of(db, &[id]).await?;
    Ok(Some(ClientRecord {
        roles: roles.remove(&id).unwrap_or_default(),
        client,
    }))
}

pub async fn list(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Page<ClientRecord>, StoreError> {
    let mut query = clients::Entity::find().order_by_asc(clients::Column::Id);
    if let Some(after) = after {
        query = query.filter(clients::Column::Id.gt(after));
    }
    let rows = query.limit(limit + 1).all(db).await?;
    let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
    let mut roles = LINKS.of(db, &ids).await?;
    let records = rows
        .into_iter()
        .map(|client| ClientRecord {
            roles: roles.remove(&client.id).unwrap_or_default(),
            client,
        })
        .collect();
    Ok(Page::from_rows(records, limit, |r| r.client.id.to_string()))
}

pub struct ClientChanges {
    pub name: Option<String>,
    pub disabled: Option<bool>,
    pub roles: Option<Vec<RoleName>>,
    /// `Some(None)` clears the client's own lifetime.
    pub access_token_ttl_seconds: Option<Option<i64>>,
    pub now: DateTime<Utc>,
}

pub async fn update(
    db: &impl ConnectionTrait,
    id: Uuid,
    changes: ClientChanges,
) -> Result<Option<ClientRecord>, StoreError> {
    let Some(client) = clients::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    if let Some(roles) = &changes.roles {
        ensure_roles_exist(db, roles).await?;
        LINKS.set(db, id, roles).await?;
    }
    let current_generation = client.token_generation;
    let mut active: clients::ActiveModel = client.into();
    if let Some(name) = changes.name {
        active.name = Set(name);
    }
    if let Some(disabled) = changes.disabled {
        active.disabled = Set(disabled);
        if disabled {
            active.token_generation = Set(current_generation + 1);
        }
    }
    if let Some(ttl) = changes.access_token_ttl_seconds {
        active.access_token_ttl_seconds = Set(ttl);
    }
    active.updated_at = Set(changes.now);
    active.update(db).await?;
    find_record(db, id).await
}

pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    Ok(clients::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// Ends a leaked secret now, and with it every token the client already holds;
/// returns the client's row id if the secret was still live.
pub async fn expire_secret(
    db: &impl ConnectionTrait,
    digest: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<clients::Model>, StoreError> {
    let Some(secret) = client_secrets::Entity::find()
        .filter(client_secrets::Column::Digest.eq(digest.to_vec()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if secret.expires_at.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    client_secrets::Entity::update_many()
        .col_expr(client_secrets::Column::ExpiresAt, Expr::value(now))
        .filter(client_secrets::Column::Id.eq(secret.id))
        .exec(db)
        .await?;
    // Whoever holds the leaked secret may have bought tokens with it.
    clients::Entity::update_many()
        .col_expr(
            clients::Column::TokenGeneration,
            Expr::col(clients::Column::TokenGeneration).add(1),
        )
        .filter(clients::Column::Id.eq(secret.client_id))
        .exec(db)
        .await?;
    Ok(clients::Entity::find_by_id(secret.client_id)
        .one(db)
        .await?)
}

const LINKS: RoleLinks<client_roles::Entity> = RoleLinks {
    principal: client_roles::Column::ClientId,
    role: client_roles::Column::RoleName,
};
