//! Which roles a principal holds: `user_roles` and `client_roles` have the same
//! shape (principal id, role name), so one set of queries serves both.

use std::collections::HashMap;

use entity::role_permissions;
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
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
        let rows: Vec<(String, Option<String>)> = E::find()
            .select_only()
            .column(self.role)
            .column(role_permissions::Column::Permission)
            .join(
                sea_orm::JoinType::LeftJoin,
                E::belongs_to(role_permissions::Entity)
                    .from(self.role)
                    .to(role_permissions::Column::RoleName)
                    .into(),
            )
            .filter(self.principal.eq(id))
            .into_tuple()
            .all(db)
            .await?;
        Ok(grants_from(rows))
    }
}

/// Grants from (role, permission) rows of a join; a role without permissions comes with `None`.
pub fn grants_from(rows: Vec<(String, Option<String>)>) -> Grants {
    let mut roles: Vec<String> = rows.iter().map(|(role, _)| role.clone()).collect();
    roles.sort();
    roles.dedup();
    // Stored permissions were validated on the way in; one that no longer parses grants nothing.
    let permissions = rows
        .iter()
        .filter_map(|(_, p)| p.as_deref())
        .filter_map(|p| Scope::parse(p).ok())
        .collect();
    Grants { roles, permissions }
}
