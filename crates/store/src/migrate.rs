//! Schema migrations.

use crate::StoreResult;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub(crate) async fn run_sqlite(pool: &sqlx::SqlitePool) -> StoreResult<()> {
    Ok(SQLITE.run(pool).await?)
}

pub(crate) async fn run_postgres(pool: &sqlx::PgPool) -> StoreResult<()> {
    Ok(POSTGRES.run(pool).await?)
}
