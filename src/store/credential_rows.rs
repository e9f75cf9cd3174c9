//! What API keys and personal access tokens share as rows: revocation and
//! last-use bookkeeping, one set of queries for both tables.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::StoreError;

/// A credential table and the columns these queries touch.
pub struct CredentialRows<E: EntityTrait> {
    pub id: E::Column,
    pub revoked_at: E::Column,
    pub last_used_at: E::Column,
}

impl<E: EntityTrait> CredentialRows<E> {
    /// Sets `revoked_at` unless already revoked; true when this call revoked it.
    pub async fn revoke(
        &self,
        db: &impl ConnectionTrait,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = E::update_many()
            .col_expr(self.revoked_at, Expr::value(now))
            .filter(self.id.eq(id))
            .filter(self.revoked_at.is_null())
            .exec(db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Records the first use; true for exactly one caller.
    pub async fn mark_first_use(
        &self,
        db: &impl ConnectionTrait,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = E::update_many()
            .col_expr(self.last_used_at, Expr::value(now))
            .filter(self.id.eq(id))
            .filter(self.last_used_at.is_null())
            .exec(db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Sets the last use of every row in `ids` to `at`, unless a later one is
    /// recorded already (another node's): one statement.
    pub async fn touch_all(
        &self,
        db: &impl ConnectionTrait,
        ids: &[Uuid],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        E::update_many()
            .col_expr(self.last_used_at, Expr::value(at))
            .filter(self.id.is_in(ids.iter().copied()))
            .filter(
                sea_orm::Condition::any()
                    .add(self.last_used_at.is_null())
                    .add(self.last_used_at.lt(at)),
            )
            .exec(db)
            .await?;
        Ok(())
    }
}
