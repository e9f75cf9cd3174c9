//! Sessions of the web UI: one row per signed-in browser, found by the digest of
//! the cookie's secret, removed at logout, at expiry and with the user.

use sea_orm_migration::prelude::*;

use crate::columns::{cascade_fk, digest, index, ts, uuid_col, uuid_pk};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000002_browser_sessions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BrowserSessions::Table)
                    .col(uuid_pk(BrowserSessions::Id))
                    .col(uuid_col(BrowserSessions::UserId))
                    .col(digest(BrowserSessions::Digest))
                    .col(ts(BrowserSessions::CreatedAt))
                    .col(ts(BrowserSessions::ExpiresAt))
                    .foreign_key(&mut cascade_fk(
                        "fk_browser_sessions_user",
                        (BrowserSessions::Table, BrowserSessions::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_browser_sessions_user",
            BrowserSessions::Table,
            &[BrowserSessions::UserId.into_iden()],
        )
        .await?;
        index(
            manager,
            "idx_browser_sessions_expires_at",
            BrowserSessions::Table,
            &[BrowserSessions::ExpiresAt.into_iden()],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(BrowserSessions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum BrowserSessions {
    Table,
    Id,
    UserId,
    Digest,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
