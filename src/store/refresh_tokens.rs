use chrono::{DateTime, Utc};
use entity::{refresh_token_families as families, refresh_tokens as tokens};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::StoreError;
use crate::secret::Digest;

pub async fn create_family(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    families::Entity::insert(families::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        created_at: Set(now),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    })
    .exec(db)
    .await?;
    Ok(id)
}

pub async fn insert_token(
    db: &impl ConnectionTrait,
    family_id: Uuid,
    digest: &Digest,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    tokens::Entity::insert(tokens::ActiveModel {
        id: Set(id),
        family_id: Set(family_id),
        digest: Set(digest.as_bytes().to_vec()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    })
    .exec(db)
    .await
    .map_err(|e| StoreError::unique(e, "digest"))?;
    Ok(id)
}

/// The token with this digest and its family.
pub async fn find_by_digest(
    db: &impl ConnectionTrait,
    digest: &Digest,
) -> Result<Option<(tokens::Model, families::Model)>, StoreError> {
    let Some(token) = tokens::Entity::find()
        .filter(tokens::Column::Digest.eq(digest.as_bytes().to_vec()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let family = families::Entity::find_by_id(token.family_id)
        .one(db)
        .await?;
    Ok(family.map(|family| (token, family)))
}

pub async fn find_family(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<families::Model>, StoreError> {
    Ok(families::Entity::find_by_id(id).one(db).await?)
}

/// Marks the token used if nobody did before: true for exactly one caller.
pub async fn claim(
    db: &impl ConnectionTrait,
    token_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = tokens::Entity::update_many()
        .col_expr(tokens::Column::UsedAt, Expr::value(now))
        .filter(tokens::Column::Id.eq(token_id))
        .filter(tokens::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Revokes a family unless it already was; true when this call revoked it.
pub async fn revoke_family(
    db: &impl ConnectionTrait,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = families::Entity::update_many()
        .col_expr(families::Column::RevokedAt, Expr::value(now))
        .col_expr(families::Column::RevokedReason, Expr::value(reason))
        .filter(families::Column::Id.eq(id))
        .filter(families::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Revokes every live family of a user; returns how many.
pub async fn revoke_all_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let result = families::Entity::update_many()
        .col_expr(families::Column::RevokedAt, Expr::value(now))
        .col_expr(families::Column::RevokedReason, Expr::value(reason))
        .filter(families::Column::UserId.eq(user_id))
        .filter(families::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
