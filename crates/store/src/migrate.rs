//! Schema migrations: one file per change in `migrations/`, written once and rendered for the
//! engine at hand (see `migrations/README.md` for the placeholders). sqlx applies the rendered
//! text and records its checksum, so a rendering must never change once it has shipped: the
//! tests below hold the checksums of every shipped migration on both engines.

use crate::{Engine, StoreResult};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

/// A migration file as written: `NNNN_description.sql` and its text.
struct Template {
    file: &'static str,
    text: &'static str,
}

macro_rules! templates {
    ($($file:literal),* $(,)?) => {
        &[$(Template { file: $file, text: include_str!(concat!("../migrations/", $file)) }),*]
    };
}

/// Every migration, in order. A new file in `migrations/` must be added here; a test checks.
const TEMPLATES: &[Template] = templates![
    "0001_data_model.sql",
    "0002_project_lists_and_search.sql",
    "0003_multipart_uploads.sql",
    "0004_job_leases.sql",
    "0005_pipeline.sql",
    "0006_document_history.sql",
    "0007_key_checks.sql",
    "0008_project_invitations.sql",
    "0009_takes.sql",
    "0010_costs.sql",
    "0011_budgets.sql",
    "0012_user_prices.sql",
    "0013_audit_log.sql",
    "0014_key_check_models.sql",
    "0015_several_keys.sql",
    "0016_task_fallback.sql",
];

/// Column types whose spelling differs by engine: what each placeholder becomes on SQLite and on
/// PostgreSQL. The values they hold are read and written through `db::column`.
const TYPES: &[(&str, &str, &str)] = &[
    // A UUID: 16 bytes in SQLite.
    ("{uuid}", "BLOB", "UUID"),
    // A moment to the millisecond: Unix milliseconds in SQLite (see `db::column::Time`).
    ("{time}", "INTEGER", "TIMESTAMPTZ"),
    ("{json}", "TEXT", "JSONB"),
    // SQLite's INTEGER is 64-bit already.
    ("{bigint}", "INTEGER", "BIGINT"),
    ("{bool}", "INTEGER", "BOOLEAN"),
    ("{false}", "0", "FALSE"),
    ("{true}", "1", "TRUE"),
    // Text that compares and sorts byte by byte, for prefix ranges: SQLite's default (BINARY).
    ("{bytewise_text}", "TEXT", "TEXT COLLATE \"C\""),
];

/// The text of `template` for `engine`: lines marked `@sqlite ` or `@postgres ` kept only for
/// that engine (without the mark), placeholders replaced. A mark or placeholder it does not know
/// is an error, so a typo cannot reach a database.
fn render(template: &str, engine: Engine) -> Result<String, String> {
    let mut out = Vec::new();
    for (number, line) in template.split('\n').enumerate() {
        let line = match line.strip_prefix('@') {
            Some(marked) => match marked.split_once(' ') {
                Some(("sqlite", rest)) if engine == Engine::Sqlite => rest,
                Some(("postgres", rest)) if engine == Engine::Postgres => rest,
                Some(("sqlite" | "postgres", _)) => continue,
                _ => return Err(format!("line {}: unknown engine mark '{line}'", number + 1)),
            },
            None => line,
        };
        let mut line = line.to_owned();
        for (placeholder, sqlite, postgres) in TYPES {
            let spelled = if engine == Engine::Sqlite { sqlite } else { postgres };
            line = line.replace(placeholder, spelled);
        }
        if let Some(unknown) = leftover_placeholder(&line) {
            return Err(format!("line {}: unknown placeholder '{unknown}'", number + 1));
        }
        out.push(line);
    }
    Ok(out.join("\n"))
}

/// A `{word}` left in a line (JSON defaults such as `'{}'` are not words).
fn leftover_placeholder(line: &str) -> Option<&str> {
    let start = line.find('{')?;
    let end = start + line[start..].find('}')?;
    let word = &line[start + 1..end];
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        Some(&line[start..=end])
    } else {
        leftover_placeholder(&line[end + 1..])
    }
}

/// The migrations rendered for one engine, as sqlx resolves a directory of them.
#[derive(Debug)]
struct Rendered(Engine);

impl Rendered {
    fn migrations(&self) -> Result<Vec<Migration>, String> {
        TEMPLATES
            .iter()
            .map(|template| {
                let (version, description) = template
                    .file
                    .strip_suffix(".sql")
                    .and_then(|name| name.split_once('_'))
                    .and_then(|(version, rest)| Some((version.parse::<i64>().ok()?, rest.replace('_', " "))))
                    .ok_or_else(|| format!("{}: not NNNN_description.sql", template.file))?;
                let sql = render(template.text, self.0).map_err(|e| format!("{}: {e}", template.file))?;
                // sqlx's own rule for running a migration outside a transaction.
                let no_tx = sql.starts_with("-- no-transaction");
                Ok(Migration::new(version, description.into(), MigrationType::Simple, Cow::Owned(sql), no_tx))
            })
            .collect()
    }
}

impl<'s> MigrationSource<'s> for Rendered {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async move { self.migrations().map_err(BoxDynError::from) })
    }
}

async fn migrator(engine: Engine) -> StoreResult<Migrator> {
    Ok(Migrator::new(Rendered(engine)).await?)
}

pub(crate) async fn run_sqlite(pool: &sqlx::SqlitePool) -> StoreResult<()> {
    Ok(migrator(Engine::Sqlite).await?.run(pool).await?)
}

pub(crate) async fn run_postgres(pool: &sqlx::PgPool) -> StoreResult<()> {
    Ok(migrator(Engine::Postgres).await?.run(pool).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// SHA-384 of each migration as shipped. Databases that applied it compare this on every
    /// start and refuse to open if it changed, so it must stay as it is: a change to the schema is
    /// a new migration.
    const SHIPPED: &[(i64, &str, &str)] = &[
        (
            1,
            "071ecdce529e610bb937446351bfbff9bf81a66662610a393507028b12e24fd37ee8cc6e65a9e3beca2a127ff1c16494",
            "b88f67c36577a32ee71a5260628558e0ba6513cd6fc70cde208909ae950b54a486d4083ec0c98b548cebec86de1deaaa",
        ),
        (
            2,
            "2a2ef0f6dece4e72cbb385973c0a97cd695fa5ae4870ea8a0df30db9efe4dad8d72a3da2adf4720fa7f7100f7b617a04",
            "12e9a94f920778777db8a12351772efa32d40c51be32ecd1f88e74e39f50ae9c6eb4511de496e73fd7f04ca0147ee9e3",
        ),
        (
            3,
            "3e7f1efc4eced73969435be7b8e411d537eef3d9c90a87a4a36d944443d6498153052a78adc2461a1551ccb113f77735",
            "959d45d0933a00a38980aa8ed6c79471749e5fd55aea1c2a821cf7d9c14dd79841d16f79323d8df7147aa984a53f39d5",
        ),
        (
            4,
            "2cd6b9a9403ead482fa4deb11b814b8bf02c969e04ca1f03ed8d3f4cc67210013ab7dffc8f674d1785b51f25195f80fd",
            "b9c3917526abdc27047a8e36aad34ddac0f0352508276cbd0dc8b54d86ff7b01e32cc14365966e60f364bb5094b153d6",
        ),
        (
            5,
            "0ddefb94ead5455556a6614a173b338960328c2fd21c536ada927372454016a65518ba2cde56988d7f1a6e29ca4b5078",
            "e064f936d5afe690fb9698ce9debc1c8ad3cb1fd0f2a9333808c7bad6a146ae07df03defb1d73227e36be2b849605249",
        ),
    ];

    #[test]
    fn shipped_migrations_render_to_the_checksums_databases_recorded() {
        let sqlite = Rendered(Engine::Sqlite).migrations().unwrap();
        let postgres = Rendered(Engine::Postgres).migrations().unwrap();
        for (version, on_sqlite, on_postgres) in SHIPPED {
            let find = |all: &[Migration]| hex(&all.iter().find(|m| m.version == *version).unwrap().checksum);
            assert_eq!(find(&sqlite), *on_sqlite, "migration {version} on SQLite changed after it shipped");
            assert_eq!(find(&postgres), *on_postgres, "migration {version} on PostgreSQL changed after it shipped");
        }
    }

    #[test]
    fn every_file_in_the_folder_is_listed_once_in_order() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<&str> = TEMPLATES.iter().map(|t| t.file).collect();
        assert_eq!(files, listed);
        let versions: Vec<i64> = Rendered(Engine::Sqlite).migrations().unwrap().iter().map(|m| m.version).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "versions not increasing: {versions:?}");
    }

    #[test]
    fn placeholders_and_marks_are_rendered_per_engine() {
        let template = "@sqlite -- lite\n@postgres -- pg\nCREATE TABLE t (id {uuid}, at {time}, doc {json} DEFAULT '{}', on {bool} DEFAULT {false});";
        assert_eq!(
            render(template, Engine::Sqlite).unwrap(),
            "-- lite\nCREATE TABLE t (id BLOB, at INTEGER, doc TEXT DEFAULT '{}', on INTEGER DEFAULT 0);"
        );
        assert_eq!(
            render(template, Engine::Postgres).unwrap(),
            "-- pg\nCREATE TABLE t (id UUID, at TIMESTAMPTZ, doc JSONB DEFAULT '{}', on BOOLEAN DEFAULT FALSE);"
        );
    }

    #[test]
    fn an_unknown_placeholder_or_mark_is_refused() {
        assert!(render("x {uuidd} y", Engine::Sqlite).unwrap_err().contains("{uuidd}"));
        assert!(render("a\n@mysql CREATE", Engine::Postgres).unwrap_err().contains("line 2"));
    }
}
