use sea_orm::entity::prelude::*;

/// One row per node: what the readiness check writes to prove the database takes writes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "write_probes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub node: String,
    pub checked_at: DateTimeUtc,
    pub payload: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
