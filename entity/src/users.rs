use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The name as it was given, for display.
    #[sea_orm(unique)]
    pub username: String,
    /// The PRECIS UsernameCaseMapped form (RFC 8265): what logins and uniqueness compare.
    #[sea_orm(unique)]
    pub username_key: Option<String>,
    /// The Unicode TR39 skeleton of the key: two names that look alike share it.
    #[sea_orm(unique)]
    pub username_skeleton: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
