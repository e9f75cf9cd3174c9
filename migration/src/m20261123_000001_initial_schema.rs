//! The whole data model of SPEC.md: principals and RBAC, every credential kind,
//! signing keys, the JWT deny-list and the audit log.
//!
//! Every credential digest has a unique index (it is the lookup key), every
//! credential of a user is removed with the user (ON DELETE CASCADE), and the
//! built-in roles `admin` and `user` are seeded here.

use sea_orm_migration::prelude::*;

use crate::columns::{cascade_fk, digest, index, text, ts, ts_null, uuid_col, uuid_pk};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_initial_schema"
    }
}

/// Permissions of the built-in `admin` role.
const ADMIN_PERMISSIONS: &[&str] = &[
    "users:read",
    "users:write",
    "roles:read",
    "roles:write",
    "clients:read",
    "clients:write",
    "audit:read",
    "api_keys:read",
    "api_keys:write",
    "api_keys:admin",
    "tokens:read",
    "tokens:write",
    "tokens:introspect",
    "keys:rotate",
];

/// Permissions of the built-in `user` role: self-service on one's own credentials.
const USER_PERMISSIONS: &[&str] = &[
    "api_keys:read",
    "api_keys:write",
    "tokens:read",
    "tokens:write",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_principals(manager).await?;
        create_credentials(manager).await?;
        create_infrastructure(manager).await?;
        seed_builtin_roles(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents, so foreign keys never dangle.
        for table in [
            AuditEvents::Table.into_iden(),
            RevokedJtis::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            RefreshTokenFamilies::Table.into_iden(),
            PersonalAccessTokens::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            ClientRoles::Table.into_iden(),
            ClientSecrets::Table.into_iden(),
            Clients::Table.into_iden(),
            UserRoles::Table.into_iden(),
            RolePermissions::Table.into_iden(),
            Roles::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn create_principals(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Users::Table)
                .col(uuid_pk(Users::Id))
                .col(text(Users::Username).unique_key())
                .col(text(Users::PasswordHash))
                .col(
                    ColumnDef::new(Users::Disabled)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(ts(Users::CreatedAt))
                .col(ts(Users::UpdatedAt))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(Roles::Table)
                .col(text(Roles::Name).primary_key())
                .col(
                    ColumnDef::new(Roles::Description)
                        .string()
                        .not_null()
                        .default(""),
                )
                .col(
                    ColumnDef::new(Roles::Builtin)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(ts(Roles::CreatedAt))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(RolePermissions::Table)
                .col(text(RolePermissions::RoleName))
                .col(text(RolePermissions::Permission))
                .primary_key(
                    Index::create()
                        .col(RolePermissions::RoleName)
                        .col(RolePermissions::Permission),
                )
                .foreign_key(&mut cascade_fk(
                    "fk_role_permissions_role",
                    (RolePermissions::Table, RolePermissions::RoleName),
                    (Roles::Table, Roles::Name),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(UserRoles::Table)
                .col(uuid_col(UserRoles::UserId))
                .col(text(UserRoles::RoleName))
                .primary_key(
                    Index::create()
                        .col(UserRoles::UserId)
                        .col(UserRoles::RoleName),
                )
                .foreign_key(&mut cascade_fk(
                    "fk_user_roles_user",
                    (UserRoles::Table, UserRoles::UserId),
                    (Users::Table, Users::Id),
                ))
                .foreign_key(&mut cascade_fk(
                    "fk_user_roles_role",
                    (UserRoles::Table, UserRoles::RoleName),
                    (Roles::Table, Roles::Name),
                ))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_user_roles_role",
        UserRoles::Table,
        &[UserRoles::RoleName.into_iden()],
    )
    .await?;
    manager
        .create_table(
            Table::create()
                .table(Clients::Table)
                .col(uuid_pk(Clients::Id))
                .col(text(Clients::ClientId).unique_key())
                .col(text(Clients::Name))
                .col(
                    ColumnDef::new(Clients::Disabled)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(
                    ColumnDef::new(Clients::AccessTokenTtlSeconds)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(Clients::TokenGeneration)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(ts(Clients::CreatedAt))
                .col(ts(Clients::UpdatedAt))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(ClientSecrets::Table)
                .col(uuid_pk(ClientSecrets::Id))
                .col(uuid_col(ClientSecrets::ClientId))
                .col(digest(ClientSecrets::Digest))
                .col(text(ClientSecrets::DisplayPrefix))
                .col(text(ClientSecrets::LastChars))
                .col(ts(ClientSecrets::CreatedAt))
                .col(ts_null(ClientSecrets::ExpiresAt))
                .foreign_key(&mut cascade_fk(
                    "fk_client_secrets_client",
                    (ClientSecrets::Table, ClientSecrets::ClientId),
                    (Clients::Table, Clients::Id),
                ))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_client_secrets_client",
        ClientSecrets::Table,
        &[ClientSecrets::ClientId.into_iden()],
    )
    .await?;
    manager
        .create_table(
            Table::create()
                .table(ClientRoles::Table)
                .col(uuid_col(ClientRoles::ClientId))
                .col(text(ClientRoles::RoleName))
                .primary_key(
                    Index::create()
                        .col(ClientRoles::ClientId)
                        .col(ClientRoles::RoleName),
                )
                .foreign_key(&mut cascade_fk(
                    "fk_client_roles_client",
                    (ClientRoles::Table, ClientRoles::ClientId),
                    (Clients::Table, Clients::Id),
                ))
                .foreign_key(&mut cascade_fk(
                    "fk_client_roles_role",
                    (ClientRoles::Table, ClientRoles::RoleName),
                    (Roles::Table, Roles::Name),
                ))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_client_roles_role",
        ClientRoles::Table,
        &[ClientRoles::RoleName.into_iden()],
    )
    .await
}

async fn create_credentials(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(uuid_pk(ApiKeys::Id))
                .col(uuid_col(ApiKeys::UserId))
                .col(text(ApiKeys::Name))
                .col(text(ApiKeys::Environment))
                .col(digest(ApiKeys::Digest))
                .col(text(ApiKeys::DisplayPrefix))
                .col(text(ApiKeys::LastChars))
                .col(ColumnDef::new(ApiKeys::Scopes).text().null())
                .col(ts(ApiKeys::CreatedAt))
                .col(ts_null(ApiKeys::ExpiresAt))
                .col(ts_null(ApiKeys::LastUsedAt))
                .col(ts_null(ApiKeys::RevokedAt))
                .col(ColumnDef::new(ApiKeys::RotatedFrom).uuid().null())
                .foreign_key(&mut cascade_fk(
                    "fk_api_keys_user",
                    (ApiKeys::Table, ApiKeys::UserId),
                    (Users::Table, Users::Id),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_api_keys_rotated_from")
                        .from(ApiKeys::Table, ApiKeys::RotatedFrom)
                        .to(ApiKeys::Table, ApiKeys::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_api_keys_user",
        ApiKeys::Table,
        &[ApiKeys::UserId.into_iden()],
    )
    .await?;
    manager
        .create_table(
            Table::create()
                .table(PersonalAccessTokens::Table)
                .col(uuid_pk(PersonalAccessTokens::Id))
                .col(uuid_col(PersonalAccessTokens::UserId))
                .col(text(PersonalAccessTokens::Name))
                .col(digest(PersonalAccessTokens::Digest))
                .col(text(PersonalAccessTokens::DisplayPrefix))
                .col(text(PersonalAccessTokens::LastChars))
                .col(
                    ColumnDef::new(PersonalAccessTokens::Scopes)
                        .text()
                        .not_null(),
                )
                .col(ts(PersonalAccessTokens::CreatedAt))
                .col(ts(PersonalAccessTokens::ExpiresAt))
                .col(ts_null(PersonalAccessTokens::LastUsedAt))
                .col(ts_null(PersonalAccessTokens::RevokedAt))
                .foreign_key(&mut cascade_fk(
                    "fk_pats_user",
                    (PersonalAccessTokens::Table, PersonalAccessTokens::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_pats_user",
        PersonalAccessTokens::Table,
        &[PersonalAccessTokens::UserId.into_iden()],
    )
    .await?;
    manager
        .create_table(
            Table::create()
                .table(RefreshTokenFamilies::Table)
                .col(uuid_pk(RefreshTokenFamilies::Id))
                .col(uuid_col(RefreshTokenFamilies::UserId))
                .col(ts(RefreshTokenFamilies::CreatedAt))
                .col(ts_null(RefreshTokenFamilies::RevokedAt))
                .col(
                    ColumnDef::new(RefreshTokenFamilies::RevokedReason)
                        .string()
                        .null(),
                )
                .foreign_key(&mut cascade_fk(
                    "fk_refresh_families_user",
                    (RefreshTokenFamilies::Table, RefreshTokenFamilies::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_refresh_families_user",
        RefreshTokenFamilies::Table,
        &[RefreshTokenFamilies::UserId.into_iden()],
    )
    .await?;
    manager
        .create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(uuid_pk(RefreshTokens::Id))
                .col(uuid_col(RefreshTokens::FamilyId))
                .col(digest(RefreshTokens::Digest))
                .col(ts(RefreshTokens::CreatedAt))
                .col(ts(RefreshTokens::ExpiresAt))
                .col(ts_null(RefreshTokens::UsedAt))
                .foreign_key(&mut cascade_fk(
                    "fk_refresh_tokens_family",
                    (RefreshTokens::Table, RefreshTokens::FamilyId),
                    (RefreshTokenFamilies::Table, RefreshTokenFamilies::Id),
                ))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_refresh_tokens_family",
        RefreshTokens::Table,
        &[RefreshTokens::FamilyId.into_iden()],
    )
    .await
}

async fn create_infrastructure(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(SigningKeys::Table)
                .col(text(SigningKeys::Kid).primary_key())
                .col(text(SigningKeys::Algorithm))
                .col(ColumnDef::new(SigningKeys::PublicJwk).text().not_null())
                .col(
                    ColumnDef::new(SigningKeys::PrivateKeyCiphertext)
                        .binary()
                        .not_null(),
                )
                .col(ts(SigningKeys::CreatedAt))
                .col(ts_null(SigningKeys::RetiredAt))
                .col(ts_null(SigningKeys::PublishUntil))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(RevokedJtis::Table)
                .col(text(RevokedJtis::Jti).primary_key())
                .col(ts(RevokedJtis::ExpiresAt))
                .col(ts(RevokedJtis::RevokedAt))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_revoked_jtis_expires",
        RevokedJtis::Table,
        &[RevokedJtis::ExpiresAt.into_iden()],
    )
    .await?;
    manager
        .create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(
                    ColumnDef::new(AuditEvents::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ts(AuditEvents::OccurredAt))
                .col(text(AuditEvents::Action))
                .col(text(AuditEvents::Outcome))
                .col(ColumnDef::new(AuditEvents::ActorType).string().null())
                .col(ColumnDef::new(AuditEvents::ActorId).string().null())
                .col(ColumnDef::new(AuditEvents::ActorName).string().null())
                .col(ColumnDef::new(AuditEvents::TargetType).string().null())
                .col(ColumnDef::new(AuditEvents::TargetId).string().null())
                .col(ColumnDef::new(AuditEvents::SourceIp).string().null())
                .col(ColumnDef::new(AuditEvents::Details).text().null())
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_audit_events_occurred",
        AuditEvents::Table,
        &[AuditEvents::OccurredAt.into_iden()],
    )
    .await?;
    index(
        manager,
        "idx_audit_events_actor",
        AuditEvents::Table,
        &[AuditEvents::ActorId.into_iden()],
    )
    .await?;
    index(
        manager,
        "idx_audit_events_action",
        AuditEvents::Table,
        &[AuditEvents::Action.into_iden()],
    )
    .await
}

async fn seed_builtin_roles(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let roles = [
        (
            "admin",
            "Administers users, roles, clients and the audit log",
            ADMIN_PERMISSIONS,
        ),
        (
            "user",
            "Self-service: own API keys and personal access tokens",
            USER_PERMISSIONS,
        ),
    ];
    for (name, description, permissions) in roles {
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Roles::Table)
                    .columns([
                        Roles::Name,
                        Roles::Description,
                        Roles::Builtin,
                        Roles::CreatedAt,
                    ])
                    .values_panic([
                        name.into(),
                        description.into(),
                        true.into(),
                        Expr::current_timestamp().into(),
                    ])
                    .to_owned(),
            )
            .await?;
        let mut insert = Query::insert();
        insert
            .into_table(RolePermissions::Table)
            .columns([RolePermissions::RoleName, RolePermissions::Permission]);
        for permission in permissions.iter() {
            insert.values_panic([name.into(), (*permission).into()]);
        }
        manager.exec_stmt(insert.to_owned()).await?;
    }
    Ok(())
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    PasswordHash,
    Disabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Name,
    Description,
    Builtin,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RolePermissions {
    Table,
    RoleName,
    Permission,
}

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    UserId,
    RoleName,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    ClientId,
    Name,
    Disabled,
    AccessTokenTtlSeconds,
    TokenGeneration,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ClientSecrets {
    Table,
    Id,
    ClientId,
    Digest,
    DisplayPrefix,
    LastChars,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ClientRoles {
    Table,
    ClientId,
    RoleName,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    UserId,
    Name,
    Environment,
    Digest,
    DisplayPrefix,
    LastChars,
    Scopes,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    RotatedFrom,
}

#[derive(DeriveIden)]
enum PersonalAccessTokens {
    Table,
    Id,
    UserId,
    Name,
    Digest,
    DisplayPrefix,
    LastChars,
    Scopes,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum RefreshTokenFamilies {
    Table,
    Id,
    UserId,
    CreatedAt,
    RevokedAt,
    RevokedReason,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    FamilyId,
    Digest,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Algorithm,
    PublicJwk,
    PrivateKeyCiphertext,
    CreatedAt,
    RetiredAt,
    PublishUntil,
}

#[derive(DeriveIden)]
enum RevokedJtis {
    Table,
    Jti,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    OccurredAt,
    Action,
    Outcome,
    ActorType,
    ActorId,
    ActorName,
    TargetType,
    TargetId,
    SourceIp,
    Details,
}
