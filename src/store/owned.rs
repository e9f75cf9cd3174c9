//! A user-owned credential (API key or PAT), its owner and the owner's grants in
//! one database round trip: the query behind every cold resolution.

use entity::{role_permissions, user_roles, users};
use sea_orm::sea_query::{Alias, Asterisk, Expr, Query};
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult};

use super::role_links::grants_from;
use super::StoreError;
use crate::domain::Grants;

pub struct Owned<M> {
    pub credential: M,
    pub owner: users::Model,
    pub grants: Grants,
}

/// Finds the credential of table `E` whose `digest_col` is `digest`, joined with
/// its owner (through `user_col`) and the owner's roles and permissions.
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
    query
        .expr_as(
            Expr::col((user_roles::Entity, user_roles::Column::RoleName)),
            Alias::new("owner_role"),
        )
        .expr_as(
            Expr::col((
                role_permissions::Entity,
                role_permissions::Column::Permission,
            )),
            Alias::new("owner_permission"),
        )
        .from(table)
        .inner_join(
            users::Entity,
            Expr::col((users::Entity, users::Column::Id)).equals((table, user_col)),
        )
        .left_join(
            user_roles::Entity,
            Expr::col((user_roles::Entity, user_roles::Column::UserId))
                .equals((users::Entity, users::Column::Id)),
        )
        .left_join(
            role_permissions::Entity,
            Expr::col((role_permissions::Entity, role_permissions::Column::RoleName))
                .equals((user_roles::Entity, user_roles::Column::RoleName)),
        )
        .and_where(Expr::col((table, digest_col)).eq(digest.to_vec()));
    let rows = db
        .query_all(db.get_database_backend().build(&query))
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let credential = E::Model::from_query_result(first, "")?;
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
    let mut links = Vec::with_capacity(rows.len());
    for row in &rows {
        let role: Option<String> = row.try_get("", "owner_role")?;
        let permission: Option<String> = row.try_get("", "owner_permission")?;
        if let Some(role) = role {
            links.push((role, permission));
        }
    }
    Ok(Some(Owned {
        credential,
        owner,
        grants: grants_from(links),
    }))
}
