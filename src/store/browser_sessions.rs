//! Rows of `browser_sessions`. A session is looked up through [`super::owned`]
//! (with its user and grants, one round trip); here it is created and ended.

use chrono::{DateTime, Utc};
use entity::browser_sessions as sessions;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::StoreError;
use crate::secret::Digest;

pub async fn insert(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    digest: &Digest,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    sessions::Entity::insert(sessions::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        digest: Set(digest.as_bytes().to_vec()),
        created_at: Set(now),
        expires_at: Set(expires_at),
    })
    .exec(db)
    .await
    .map_err(|e| StoreError::unique(e, "digest"))?;
    Ok(id)
}

/// Ends the session with this digest; its id and user if there was one.
pub async fn delete_by_digest(
    db: &impl ConnectionTrait,
    digest: &Digest,
) -> Result<Option<sessions::Model>, StoreError> {
    let found = sessions::Entity::find()
        .filter(sessions::Column::Digest.eq(digest.as_bytes().to_vec()))
        .one(db)
        .await?;
    if let Some(session) = &found {
        sessions::Entity::delete_by_id(session.id).exec(db).await?;
    }
    Ok(found)
}

/// Ends every session of a user; how many there were.
pub async fn delete_for_user(db: &impl ConnectionTrait, user_id: Uuid) -> Result<u64, StoreError> {
    let result = sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Forgets sessions that have expired (they are refused anyway).
pub async fn prune(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let result = sessions::Entity::delete_many()
        .filter(sessions::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
