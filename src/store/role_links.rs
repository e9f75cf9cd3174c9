//! Which roles a principal holds: `user_roles` and `client_roles` have the same
//! shape (principal id, role name), so one set of queries serves both.

use std::collections::HashMap;

use entity::role_permissions;
use sea_orm::sea_query::{Alias, Expr, Func, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect,
};
use uuid::Uuid;

use super::StoreError;
use crate::domain::Grants;
use crate::domain::{RoleName, Scope};

/// A link table and its two columns.
pub struct RoleLinks<E: EntityTrait> {
    pub principal: E::Column,
    pub role: E::Column,
}

impl<E: EntityTrait> RoleLinks<E> {
    /// Replaces the principal's roles.
    pub async fn set(
        &self,
        db: &impl ConnectionTrait,
        id: Uuid,
        roles: &[RoleName],
    ) -> Result<(), StoreError> {
        E::delete_many()
            .filter(self.principal.eq(id))
            .exec(db)
            .await?;
        let mut distinct: Vec<&RoleName> = roles.iter().collect();
        distinct.sort();
        distinct.dedup();
        if distinct.is_empty() {
            return Ok(());
        }
        let mut insert = Query::insert();
        insert
            .into_table(E::default())
            .columns([self.principal, self.role]);
        for role in distinct {
            insert
                .values([id.into(), role.as_str().into()])
                .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
        }
        db.execute(db.get_database_backend().build(&insert)).await?;
        Ok(())
    }

    /// The roles of each of `ids`, sorted.
    pub async fn of(
        &self,
        db: &impl ConnectionTrait,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<String>>, StoreError> {
        let rows: Vec<(Uuid, String)> = E::find()
            .select_only()
            .column(self.principal)
            .column(self.role)
            .filter(self.principal.is_in(ids.iter().copied()))
            .order_by_asc(self.role)
            .into_tuple()
            .all(db)
            .await?;
        let mut by_principal: HashMap<Uuid, Vec<String>> = HashMap::new();
        for (id, role) in rows {
            by_principal.entry(id).or_default().push(role);
        }
        Ok(by_principal)
    }

    /// The principal's roles and the union of their permissions, in one query.
    pub async fn grants(&self, db: &impl ConnectionTrait, id: Uuid) -> Result<Grants, StoreError> {
        let query = Query::select()
            .expr_as(self.roles_of(id), Alias::new("roles"))
            .expr_as(self.permissions_of(id), Alias::new("permissions"))
            .to_owned();
        match db
            .query_one(db.get_database_backend().build(&query))
            .await?
        {
            Some(row) => grants_from_lists(&row, "roles", "permissions"),
            None => Ok(Grants::default()),
        }
    }
}

/// Space-separated lists: neither a role name nor a scope token holds a space.
const SEPARATOR: &str = " ";

/// `string_agg(column, ' ')`, which PostgreSQL and SQLite (3.44 and later) both know.
fn space_separated(column: SimpleExpr) -> SimpleExpr {
    Func::cust(Alias::new("string_agg"))
        .arg(column)
        .arg(SEPARATOR)
        .into()
}

/// The sub-selects that put a principal's grants into the one row of a lookup:
/// no row per role and permission to fetch, copy and merge on the hot path.
impl<E: EntityTrait> RoleLinks<E> {
    /// `(SELECT string_agg(role, ' ') FROM links WHERE principal = <principal>)`;
    /// `principal` is a column of the outer query or an id.
    pub fn roles_of(&self, principal: impl Into<SimpleExpr>) -> SimpleExpr {
        let select = Query::select()
            .expr(space_separated(Expr::col((E::default(), self.role)).into()))
            .from(E::default())
            .and_where(Expr::col((E::default(), self.principal)).eq(principal))
            .to_owned();
        sub_select(select)
    }

    /// `(SELECT string_agg(permission, ' ') FROM links JOIN role_permissions …)`:
    /// the union of the permissions of the principal's roles (with repeats).
    pub fn permissions_of(&self, principal: impl Into<SimpleExpr>) -> SimpleExpr {
        let permission = (
            role_permissions::Entity,
            role_permissions::Column::Permission,
        );
        let select = Query::select()
            .expr(space_separated(Expr::col(permission).into()))
            .from(E::default())
            .inner_join(
                role_permissions::Entity,
                Expr::col((role_permissions::Entity, role_permissions::Column::RoleName))
                    .equals((E::default(), self.role)),
            )
            .and_where(Expr::col((E::default(), self.principal)).eq(principal))
            .to_owned();
        sub_select(select)
    }
}

/// A select as a scalar expression: `(SELECT …)`.
fn sub_select(select: SelectStatement) -> SimpleExpr {
    SimpleExpr::SubQuery(None, Box::new(select.into_sub_query_statement()))
}

/// Grants from the two columns [`RoleLinks::roles_of`] and
/// [`RoleLinks::permissions_of`] were selected as.
pub fn grants_from_lists(
    row: &QueryResult,
    roles_column: &str,
    permissions_column: &str,
) -> Result<Grants, StoreError> {
    let roles: Option<String> = row.try_get("", roles_column)?;
    let permissions: Option<String> = row.try_get("", permissions_column)?;
    let mut roles: Vec<String> = roles
        .as_deref()
        .unwrap_or_default()
        .split(SEPARATOR)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    roles.sort();
    roles.dedup();
    // Stored permissions were validated on the way in; one that no longer parses grants nothing.
    let permissions = permissions
        .as_deref()
        .unwrap_or_default()
        .split(SEPARATOR)
        .filter_map(|p| Scope::parse(p).ok())
        .collect();
    Ok(Grants { roles, permissions })
}
