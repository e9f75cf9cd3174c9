//! Trident's schema. One migration set serves SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261123_000001_initial_schema;
mod m20261123_000002_browser_sessions;
mod m20261202_000001_hardening;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial_schema::Migration),
            Box::new(m20261123_000002_browser_sessions::Migration),
            Box::new(m20261202_000001_hardening::Migration),
        ]
    }
}
