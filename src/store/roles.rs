use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::{role_permissions, roles};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{Page, StoreError};
use crate::domain::{RoleName, ScopeSet};

#[derive(Debug, Clone)]
pub struct RoleRecord {
    pub role: roles::Model,
    pub permissions: Vec<String>,
}

async fn permissions_of(
    db: &impl ConnectionTrait,
    names: &[String],
) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
    let rows = role_permissions::Entity::find()
        .filter(role_permissions::Column::RoleName.is_in(names.iter().cloned()))
        .order_by_asc(role_permissions::Column::Permission)
        .all(db)
        .await?;
    let mut by_role: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        by_role
            .entry(row.role_name)
            .or_default()
            .push(row.permission);
    }
    Ok(by_role)
}

/// Every permission the roles `names` grant together.
pub async fn granted_by(
    db: &impl ConnectionTrait,
    names: &[String],
) -> Result<Vec<String>, StoreError> {
    Ok(permissions_of(db, names)
        .await?
        .into_values()
        .flatten()
        .collect())
}

pub async fn list(
    db: &impl ConnectionTrait,
    after: Option<&str>,
    limit: u64,
) -> Result<Page<RoleRecord>, StoreError> {
    let mut query = roles::Entity::find().order_by_asc(roles::Column::Name);
    if let Some(after) = after {
        query = query.filter(roles::Column::Name.gt(after));
    }
    let rows = query.limit(limit + 1).all(db).await?;
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    let mut permissions = permissions_of(db, &names).await?;
    let records = rows
        .into_iter()
        .map(|role| RoleRecord {
            permissions: permissions.remove(&role.name).unwrap_or_default(),
            role,
        })
        .collect();
    Ok(Page::from_rows(records, limit, |r| r.role.name.clone()))
}

pub async fn find(db: &impl ConnectionTrait, name: &str) -> Result<Option<RoleRecord>, StoreError> {
    let Some(role) = roles::Entity::find_by_id(name.to_owned()).one(db).await? else {
        return Ok(None);
    };
    let mut permissions = permissions_of(db, std::slice::from_ref(&role.name)).await?;
    Ok(Some(RoleRecord {
        permissions: permissions.remove(&role.name).unwrap_or_default(),
        role,
    }))
}

pub async fn insert(
    db: &impl ConnectionTrait,
    name: &RoleName,
    description: &str,
    permissions: &ScopeSet,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    roles::Entity::insert(roles::ActiveModel {
        name: Set(name.as_str().to_owned()),
        description: Set(description.to_owned()),
        builtin: Set(false),
        created_at: Set(now),
    })
    .exec(db)
    .await
    .map_err(|e| StoreError::unique(e, "name"))?;
    set_permissions(db, name.as_str(), permissions).await
}

pub async fn set_description(
    db: &impl ConnectionTrait,
    name: &str,
    description: &str,
) -> Result<(), StoreError> {
    roles::Entity::update_many()
        .col_expr(
            roles::Column::Description,
            sea_orm::sea_query::Expr::value(description),
        )
        .filter(roles::Column::Name.eq(name))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_permissions(
    db: &impl ConnectionTrait,
    name: &str,
    permissions: &ScopeSet,
) -> Result<(), StoreError> {
    role_permissions::Entity::delete_many()
        .filter(role_permissions::Column::RoleName.eq(name))
        .exec(db)
        .await?;
    if permissions.is_empty() {
        return Ok(());
    }
    role_permissions::Entity::insert_many(permissions.iter().map(|p| {
        role_permissions::ActiveModel {
            role_name: Set(name.to_owned()),
            permission: Set(p.as_str().to_owned()),
        }
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// Deletes the role; its grants to users and clients go with it.
pub async fn delete(db: &impl ConnectionTrait, name: &str) -> Result<bool, StoreError> {
    Ok(roles::Entity::delete_by_id(name.to_owned())
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// Every permission any role grants, sorted.
pub async fn all_permissions(db: &impl ConnectionTrait) -> Result<Vec<String>, StoreError> {
    Ok(role_permissions::Entity::find()
        .select_only()
        .column(role_permissions::Column::Permission)
        .distinct()
        .order_by_asc(role_permissions::Column::Permission)
        .into_tuple()
        .all(db)
        .await?)
}
