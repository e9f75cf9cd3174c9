//! The deny-list of revoked JWT ids, kept until the tokens would have expired.

use chrono::{DateTime, Utc};
use entity::revoked_jtis::{self, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
};

use super::StoreError;

/// Adds `jti` to the deny-list; true when it was not there yet.
pub async fn revoke(
    db: &impl ConnectionTrait,
    jti: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted = Entity::insert(revoked_jtis::ActiveModel {
        jti: Set(jti.to_owned()),
        expires_at: Set(expires_at),
        revoked_at: Set(now),
    })
    .on_conflict(OnConflict::column(Column::Jti).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(inserted == 1)
}

pub async fn is_revoked(db: &impl ConnectionTrait, jti: &str) -> Result<bool, StoreError> {
    Ok(Entity::find().filter(Column::Jti.eq(jti)).count(db).await? > 0)
}

/// Forgets entries whose tokens have expired anyway.
pub async fn prune(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(Entity::delete_many()
        .filter(Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected)
}
