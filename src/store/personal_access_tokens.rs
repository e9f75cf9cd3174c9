use chrono::{DateTime, Utc};
use entity::personal_access_tokens::{self, Column, Entity};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::credential_rows::CredentialRows;
use super::{Page, StoreError};
use crate::domain::ScopeSet;
use crate::secret::OpaqueSecret;

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

/// Revocation and last-use bookkeeping (shared with the other credential table).
pub const ROWS: CredentialRows<Entity> = CredentialRows {
    id: Column::Id,
    revoked_at: Column::RevokedAt,
    last_used_at: Column::LastUsedAt,
};
