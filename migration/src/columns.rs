//! Column and index shapes shared by the migrations.

use sea_orm_migration::prelude::*;

pub fn ts(col: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

pub fn ts_null(col: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

pub fn text(col: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(col).string().not_null().to_owned()
}

pub fn uuid_pk(col: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(col)
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

pub fn uuid_col(col: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

pub fn digest(col: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(col)
        .binary()
        .not_null()
        .unique_key()
        .to_owned()
}

pub fn cascade_fk(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

pub async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + 'static,
    cols: &[DynIden],
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(col.clone());
    }
    manager.create_index(stmt.to_owned()).await
}
