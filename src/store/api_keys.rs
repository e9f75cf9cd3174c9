use chrono::{DateTime, Utc};
use entity::api_keys::{self, Column, Entity};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::credential_rows::CredentialRows;
use super::{Page, StoreError};
use crate::domain::ScopeSet;
use crate::secret::OpaqueSecret;

pub struct NewApiKey<'a> {
    pub user_id: Uuid,
    pub name: &'a str,
    pub environment: &'a str,
    pub secret: &'a OpaqueSecret,
    pub scopes: Option<&'a ScopeSet>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rotated_from: Option<Uuid>,
    pub now: DateTime<Utc>,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewApiKey<'_>,
) -> Result<api_keys::Model, StoreError> {
    let model = api_keys::Model {
        id: Uuid::now_v7(),
        user_id: new.user_id,
        name: new.name.to_owned(),
        environment: new.environment.to_owned(),
        digest: new.secret.digest().as_bytes().to_vec(),
        display_prefix: new.secret.display_prefix(),
        last_chars: new.secret.last_chars(),
        scopes: new.scopes.map(ToString::to_string),
        created_at: new.now,
        expires_at: new.expires_at,
        last_used_at: None,
        revoked_at: None,
        rotated_from: new.rotated_from,
    };
    let active: api_keys::ActiveModel = model.clone().into();
    Entity::insert(active)
        .exec_without_returning(db)
        .await
        .map_err(|e| StoreError::unique(e, "digest"))?;
    Ok(model)
}

pub async fn find_by_digest(
    db: &impl ConnectionTrait,
    digest: &[u8],
) -> Result<Option<api_keys::Model>, StoreError> {
    Ok(Entity::find()
        .filter(Column::Digest.eq(digest.to_vec()))
        .one(db)
        .await?)
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<api_keys::Model>, StoreError> {
    Ok(Entity::find_by_id(id).one(db).await?)
}

/// Keys of one user (or of everyone), newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    user_id: Option<Uuid>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<api_keys::Model>, StoreError> {
    let mut query = Entity::find().order_by_desc(Column::Id);
    if let Some(user_id) = user_id {
        query = query.filter(Column::UserId.eq(user_id));
    }
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    let rows = query.limit(limit + 1).all(db).await?;
    Ok(Page::from_rows(rows, limit, |k| k.id.to_string()))
}

/// Shortens the key's life to `until` (the end of a rotation's grace period).
pub async fn expire_at(
    db: &impl ConnectionTrait,
    id: Uuid,
    until: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::ExpiresAt, Expr::value(until))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn has_successor(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    Ok(Entity::find()
        .filter(Column::RotatedFrom.eq(id))
        .count(db)
        .await?
        > 0)
}

/// Revocation and last-use bookkeeping (shared with the other credential table).
pub const ROWS: CredentialRows<Entity> = CredentialRows {
    id: Column::Id,
    revoked_at: Column::RevokedAt,
    last_used_at: Column::LastUsedAt,
};
