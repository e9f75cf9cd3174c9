//! A user-owned credential (API key or PAT), its owner and the owner's grants in
//! one database round trip: the query behind every cold resolution.

use entity::users;
use sea_orm::sea_query::{Alias, Asterisk, Expr, Query};
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult};

use super::role_links::grants_from_lists;
use super::users::LINKS;
use super::StoreError;
use crate::domain::Grants;

pub struct Owned<M> {
    pub credential: M,
    pub owner: users::Model,
    pub grants: Grants,
}

/// Finds the credential of table `E` whose `digest_col` is `digest`, joined with
/// its owner (through `user_col`), with the owner's roles and permissions
/// aggregated into two columns: one row.
pub async fn find_by_digest<E>(
    db: &impl ConnectionTrait,
    digest_col: E::Column,
    user_col: E::Column,
    digest: &[u8],
) -> Result<Option<Owned<E::Model>>, StoreError>
where
    E: EntityTrait,
    E::Model: FromQueryResult,
{
    let table = E::default();
    let owner_column = |column: users::Column, alias: &str| {
        (Expr::col((users::Entity, column)), Alias::new(alias))
    };
    let mut query = Query::select();
    query.column((table, Asterisk));
    for (column, alias) in [
        (users::Column::Id, "owner_id"),
        (users::Column::Username, "owner_username"),
        (users::Column::UsernameKey, "owner_username_key"),
        (users::Column::UsernameSkeleton, "owner_username_skeleton"),
        (users::Column::PasswordHash, "owner_password_hash"),
        (users::Column::Disabled, "owner_disabled"),
        (users::Column::CreatedAt, "owner_created_at"),
        (users::Column::UpdatedAt, "owner_updated_at"),
    ] {
        let (expr, alias) = owner_column(column, alias);
        query.expr_as(expr, alias);
    }
    let owner_id = (users::Entity, users::Column::Id);
    query
        .expr_as(
            LINKS.roles_of(Expr::col(owner_id)),
            Alias::new("owner_roles"),
        )
        .expr_as(
            LINKS.permissions_of(Expr::col(owner_id)),
            Alias::new("owner_permissions"),
        )
        .from(table)
        .inner_join(
            users::Entity,
            Expr::col((users::Entity, users::Column::Id)).equals((table, user_col)),
        )
        .and_where(Expr::col((table, digest_col)).eq(digest.to_vec()));
    let Some(first) = db
        .query_one(db.get_database_backend().build(&query))
        .await?
    else {
        return Ok(None);
    };
    let credential = E::Model::from_query_result(&first, "")?;
    let owner = users::Model {
        id: first.try_get("", "owner_id")?,
        username: first.try_get("", "owner_username")?,
        username_key: first.try_get("", "owner_username_key")?,
        username_skeleton: first.try_get("", "owner_username_skeleton")?,
        password_hash: first.try_get("", "owner_password_hash")?,
        disabled: first.try_get("", "owner_disabled")?,
        created_at: first.try_get("", "owner_created_at")?,
        updated_at: first.try_get("", "owner_updated_at")?,
    };
    Ok(Some(Owned {
        credential,
        owner,
        grants: grants_from_lists(&first, "owner_roles", "owner_permissions")?,
    }))
}
