use chrono::{DateTime, Utc};
use entity::personal_access_tokens::{self, Column, Entity};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Page, StoreError};
use crate::credentials::OpaqueSecret;
use crate::domain::ScopeSet;

pub type Pat = personal_access_tokens::Model;

pub struct NewPat<'a> {
    pub user_id: Uuid,
    pub name: &'a str,
    pub secret: &'a OpaqueSecret,
    pub scopes: &'a ScopeSet,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewPat<'_>) -> Result<Pat, StoreError> {
    let model = Pat {
        id: Uuid::now_v7(),
        user_id: new.user_id,
        name: new.name.to_owned(),
        digest: new.secret.digest().as_bytes().to_vec(),
        display_prefix: new.secret.display_prefix(),
        last_chars: new.secret.last_chars(),
        scopes: new.scopes.to_string(),
        created_at: new.now,
        expires_at: new.expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    let active: personal_access_tokens::ActiveModel = model.clone().into();
    Entity::insert(active)
        .exec_without_returning(db)
        .await
        .map_err(|e| StoreError::unique(e, "digest"))?;
    Ok(model)
}

pub async fn find_by_digest(
    db: &impl ConnectionTrait,
    digest: &[u8],
) -> Result<Option<Pat>, StoreError> {
    Ok(Entity::find()
        .filter(Column::Digest.eq(digest.to_vec()))
        .one(db)
        .await?)
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Pat>, StoreError> {
    Ok(Entity::find_by_id(id).one(db).await?)
}

/// A user's tokens, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<Pat>, StoreError> {
    let mut query = Entity::find()
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::Id);
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    let rows = query.limit(limit + 1).all(db).await?;
    Ok(Page::from_rows(rows, limit, |t| t.id.to_string()))
}

/// Sets `revoked_at` unless already revoked; true when this call revoked it.
pub async fn revoke(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records the first use; true for exactly one caller.
pub async fn mark_first_use(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = Entity::update_many()
        .col_expr(Column::LastUsedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::LastUsedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn touch(
    db: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    Entity::update_many()
        .col_expr(Column::LastUsedAt, Expr::value(at))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
