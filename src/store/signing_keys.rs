use chrono::{DateTime, Utc};
use entity::signing_keys::{self, Column, Entity};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

/// A signing key to store: its private part sealed under the master key.
pub struct NewSigningKey<'a> {
    pub kid: &'a str,
    /// The JOSE name of its algorithm (`ES256`, `RS256`, `EdDSA`).
    pub algorithm: &'a str,
    pub public_jwk: String,
    pub private_key_ciphertext: Vec<u8>,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    key: NewSigningKey<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    Entity::insert(signing_keys::ActiveModel {
        kid: Set(key.kid.to_owned()),
        algorithm: Set(key.algorithm.to_owned()),
        public_jwk: Set(key.public_jwk),
        private_key_ciphertext: Set(key.private_key_ciphertext),
        created_at: Set(now),
        retired_at: Set(None),
        publish_until: Set(None),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Keys that still sign.
pub async fn find_active(db: &impl ConnectionTrait) -> anyhow::Result<Vec<signing_keys::Model>> {
    Ok(Entity::find()
        .filter(Column::RetiredAt.is_null())
        .all(db)
        .await?)
}

/// Keys whose public part is still published, newest first.
pub async fn find_published(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<signing_keys::Model>> {
    Ok(Entity::find()
        .filter(
            Condition::any()
                .add(Column::RetiredAt.is_null())
                .add(Column::PublishUntil.gt(now)),
        )
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Kid)
        .all(db)
        .await?)
}

pub async fn retire_active(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    publish_until: DateTime<Utc>,
) -> anyhow::Result<()> {
    Entity::update_many()
        .col_expr(Column::RetiredAt, sea_orm::sea_query::Expr::value(now))
        .col_expr(
            Column::PublishUntil,
            sea_orm::sea_query::Expr::value(publish_until),
        )
        .filter(Column::RetiredAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
