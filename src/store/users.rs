use chrono::{DateTime, Utc};
use entity::{roles, user_roles, users};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::role_links::RoleLinks;
use super::{Page, StoreError};
use crate::domain::{Grants, PrincipalKind, PrincipalRef, RoleName, Username};

/// A user with the names of its roles.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: users::Model,
    pub roles: Vec<String>,
}

pub struct NewUser<'a> {
    pub username: &'a Username,
    pub password_hash: String,
    pub roles: &'a [RoleName],
    pub now: DateTime<Utc>,
}

/// Fails with `Missing("roles")` when a role does not exist.
pub async fn ensure_roles_exist(
    db: &impl ConnectionTrait,
    names: &[RoleName],
) -> Result<(), StoreError> {
    let wanted: Vec<&str> = names.iter().map(RoleName::as_str).collect();
    let found = roles::Entity::find()
        .filter(roles::Column::Name.is_in(wanted.iter().copied()))
        .count(db)
        .await?;
    let distinct: std::collections::BTreeSet<&str> = wanted.into_iter().collect();
    if found as usize == distinct.len() {
        Ok(())
    } else {
        Err(StoreError::Missing("roles"))
    }
}

pub async fn insert(db: &impl ConnectionTrait, new: NewUser<'_>) -> Result<UserRecord, StoreError> {
    ensure_roles_exist(db, new.roles).await?;
    // The unique indexes decide; this check only names the reason first.
    let look_alike = users::Entity::find()
        .filter(users::Column::UsernameSkeleton.eq(new.username.skeleton()))
        .filter(users::Column::UsernameKey.ne(new.username.key()))
        .one(db)
        .await?;
    if look_alike.is_some() {
        return Err(StoreError::LookAlike("username"));
    }
    let model = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        username: Set(new.username.as_str().to_owned()),
        username_key: Set(Some(new.username.key().to_owned())),
        username_skeleton: Set(Some(new.username.skeleton().to_owned())),
        password_hash: Set(new.password_hash),
        disabled: Set(false),
        created_at: Set(new.now),
        updated_at: Set(new.now),
    }
    .insert(db)
    .await
    .map_err(|e| StoreError::unique(e, "username"))?;
    LINKS.set(db, model.id, new.roles).await?;
    let roles = new.roles.iter().map(|r| r.as_str().to_owned()).collect();
    Ok(UserRecord { user: model, roles })
}

/// The principal a user is.
pub fn principal_ref(user: &users::Model) -> PrincipalRef {
    PrincipalRef {
        kind: PrincipalKind::User,
        id: user.id.to_string(),
        name: user.username.clone(),
    }
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(users::Entity::find().count(db).await?)
}

/// The user a presented name means: the one with that comparison form (RFC 8265),
/// or, for an account whose form collided with another's when forms were
/// introduced (it has none; see [`fill_username_keys`]), exactly that name.
pub async fn find_by_username(
    db: &impl ConnectionTrait,
    presented: &str,
) -> Result<Option<users::Model>, StoreError> {
    let mut matches = Condition::any().add(users::Column::Username.eq(presented));
    if let Some(key) = Username::key_of(presented) {
        matches = matches.add(users::Column::UsernameKey.eq(key));
    }
    let candidates = users::Entity::find()
        .filter(matches)
        .limit(2)
        .all(db)
        .await?;
    // An exact name wins over a key that another account's name maps to.
    let exact = candidates.iter().position(|u| u.username == presented);
    Ok(match exact {
        Some(i) => candidates.into_iter().nth(i),
        None => candidates.into_iter().find(|u| u.username_key.is_some()),
    })
}

/// Gives every user without one its comparison form and skeleton (accounts made
/// before they existed). The oldest account keeps a contested form; any other
/// that collides keeps none, goes on signing in by its exact name, and is
/// returned so it can be reported: accounts are never merged.
pub async fn fill_username_keys(db: &impl ConnectionTrait) -> Result<Vec<String>, StoreError> {
    let pending = users::Entity::find()
        .filter(users::Column::UsernameKey.is_null())
        .order_by_asc(users::Column::Id)
        .all(db)
        .await?;
    let mut collisions = Vec::new();
    for user in pending {
        let Ok(name) = Username::parse(&user.username) else {
            collisions.push(user.username);
            continue;
        };
        let taken = users::Entity::find()
            .filter(
                Condition::any()
                    .add(users::Column::UsernameKey.eq(name.key()))
                    .add(users::Column::UsernameSkeleton.eq(name.skeleton())),
            )
            .one(db)
            .await?;
        if taken.is_some() {
            collisions.push(user.username);
            continue;
        }
        let mut active: users::ActiveModel = user.into();
        active.username_key = Set(Some(name.key().to_owned()));
        active.username_skeleton = Set(Some(name.skeleton().to_owned()));
        active.update(db).await?;
    }
    Ok(collisions)
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<users::Model>, StoreError> {
    Ok(users::Entity::find_by_id(id).one(db).await?)
}

pub async fn find_record(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<UserRecord>, StoreError> {
    let Some(user) = find(db, id).await? else {
        return Ok(None);
    };
    let mut roles = LINKS.of(db, &[id]).await?;
    Ok(Some(UserRecord {
        roles: roles.remove(&id).unwrap_or_default(),
        user,
    }))
}

/// Users in creation order (ids are UUIDv7), `limit` at a time after `after`.
pub async fn list(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Page<UserRecord>, StoreError> {
    let mut query = users::Entity::find().order_by_asc(users::Column::Id);
    if let Some(after) = after {
        query = query.filter(users::Column::Id.gt(after));
    }
    let rows = query.limit(limit + 1).all(db).await?;
    let ids: Vec<Uuid> = rows.iter().map(|u| u.id).collect();
    let mut roles = LINKS.of(db, &ids).await?;
    let records = rows
        .into_iter()
        .map(|user| UserRecord {
            roles: roles.remove(&user.id).unwrap_or_default(),
            user,
        })
        .collect();
    Ok(Page::from_rows(records, limit, |r| r.user.id.to_string()))
}

pub struct UserChanges {
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
    pub roles: Option<Vec<RoleName>>,
    pub now: DateTime<Utc>,
}

pub async fn update(
    db: &impl ConnectionTrait,
    id: Uuid,
    changes: UserChanges,
) -> Result<Option<UserRecord>, StoreError> {
    let Some(user) = find(db, id).await? else {
        return Ok(None);
    };
    if let Some(roles) = &changes.roles {
        ensure_roles_exist(db, roles).await?;
        LINKS.set(db, id, roles).await?;
    }
    let mut active: users::ActiveModel = user.into();
    if let Some(hash) = changes.password_hash {
        active.password_hash = Set(hash);
    }
    if let Some(disabled) = changes.disabled {
        active.disabled = Set(disabled);
    }
    active.updated_at = Set(changes.now);
    active.update(db).await?;
    find_record(db, id).await
}

/// Deletes the user; its credentials go with it (ON DELETE CASCADE).
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    Ok(users::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// How many users hold `role`, other than `except`.
pub async fn count_holders(
    db: &impl ConnectionTrait,
    role: &str,
    except: Uuid,
) -> Result<u64, StoreError> {
    let enabled_users = Query::select()
        .column(users::Column::Id)
        .from(users::Entity)
        .and_where(users::Column::Disabled.eq(false))
        .to_owned();
    Ok(user_roles::Entity::find()
        .filter(user_roles::Column::RoleName.eq(role))
        .filter(user_roles::Column::UserId.ne(except))
        .filter(user_roles::Column::UserId.in_subquery(enabled_users))
        .count(db)
        .await?)
}

/// Locks the rows of every user holding `role` until the transaction ends, so
/// concurrent changes to those users are decided one after the other
/// (PostgreSQL; SQLite serialises writers anyway).
pub async fn lock_holders(db: &impl ConnectionTrait, role: &str) -> Result<(), StoreError> {
    let holders = Query::select()
        .column(user_roles::Column::UserId)
        .from(user_roles::Entity)
        .and_where(user_roles::Column::RoleName.eq(role))
        .to_owned();
    users::Entity::find()
        .filter(users::Column::Id.in_subquery(holders))
        .order_by_asc(users::Column::Id)
        .lock_exclusive()
        .all(db)
        .await?;
    Ok(())
}

pub(super) const LINKS: RoleLinks<user_roles::Entity> = RoleLinks {
    principal: user_roles::Column::UserId,
    role: user_roles::Column::RoleName,
};

/// The roles held and the union of their permissions, in one query.
pub async fn grants(db: &impl ConnectionTrait, id: Uuid) -> Result<Grants, StoreError> {
    LINKS.grants(db, id).await
}
