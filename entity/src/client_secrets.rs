use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_secrets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The owning client's row id (not its public `client_id`).
    pub client_id: Uuid,
    #[sea_orm(unique)]
    pub digest: Vec<u8>,
    pub display_prefix: String,
    pub last_chars: String,
    pub created_at: DateTimeUtc,
    /// End of the grace period after a rotation; `None` while current.
    pub expires_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
