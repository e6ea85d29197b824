//! Throwaway databases for tests: a SQLite file in a fresh temp directory, or a fresh PostgreSQL
//! database on the server named by `CINEGEN_TEST_PG_URL` (default: this machine's 127.0.0.1:5432).
//! Both are removed when the guard drops, so tests leave nothing behind.

use crate::{ConnectOptions, Engine};
use sqlx::{Connection, Executor, PgConnection};
use std::path::PathBuf;

/// The server the PostgreSQL tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("CINEGEN_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub engine: Engine,
    pub url: String,
    dir: Option<PathBuf>,
    pg_name: Option<String>,
}

impl TestDatabase {
    pub async fn create(engine: Engine) -> Self {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        match engine {
            Engine::Sqlite => {
                let dir = std::env::temp_dir().join(format!("cinegen-test-{tag}"));
                std::fs::create_dir_all(&dir).expect("create temp dir");
                let url = format!("sqlite://{}", dir.join("cinegen.db").display());
                Self { engine, url, dir: Some(dir), pg_name: None }
            }
            Engine::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("cinegen_test_{tag}");
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for this test: {e}"));
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
                let url = replace_database(&admin, &name);
                Self { engine, url, dir: None, pg_name: Some(name) }
            }
        }
    }

    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions { url: self.url.clone(), max_connections: 8 }
    }

    /// The temp directory of a SQLite database (a place for other per-test files too).
    pub fn dir(&self) -> Option<&PathBuf> {
        self.dir.as_ref()
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside any runtime guarantee, so the cleanup gets a thread and runtime of its own.
            let admin = postgres_admin_url();
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                runtime.block_on(async {
                    let mut conn = PgConnection::connect(&admin).await.ok()?;
                    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.ok()
                })
            })
            .join();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced() {
        assert_eq!(super::replace_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            super::replace_database("postgres://u@h/p?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
