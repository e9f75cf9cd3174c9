//! Hardening: usernames compared by their PRECIS form and their confusable
//! skeleton (RFC 8265, Unicode TR39), and a table the readiness check writes to,
//! so that `/readyz` reports a database that cannot write.
//!
//! The new user columns are filled in by Trident at start (the normalisation is
//! Unicode code, not SQL); rows whose forms collide keep NULL there and are
//! reported, never merged.

use sea_orm_migration::prelude::*;

use crate::columns::ts;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000001_hardening"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Users::UsernameKey, Users::UsernameSkeleton] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(ColumnDef::new(column).string().null())
                        .to_owned(),
                )
                .await?;
        }
        for (name, column) in [
            ("idx_users_username_key", Users::UsernameKey),
            ("idx_users_username_skeleton", Users::UsernameSkeleton),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Users::Table)
                        .col(column)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(WriteProbes::Table)
                    .col(
                        ColumnDef::new(WriteProbes::Node)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ts(WriteProbes::CheckedAt))
                    .col(ColumnDef::new(WriteProbes::Payload).binary().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WriteProbes::Table).to_owned())
            .await?;
        for name in ["idx_users_username_key", "idx_users_username_skeleton"] {
            manager
                .drop_index(Index::drop().name(name).table(Users::Table).to_owned())
                .await?;
        }
        for column in [Users::UsernameKey, Users::UsernameSkeleton] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    UsernameKey,
    UsernameSkeleton,
}

#[derive(DeriveIden)]
enum WriteProbes {
    Table,
    Node,
    CheckedAt,
    Payload,
}
