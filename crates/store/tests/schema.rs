//! The two engines' schemas stay equivalent: a fresh database of each is migrated, read back
//! from its own catalog, and compared part by part — tables, columns (in order, with their type
//! as SQLite stores it, nullability and default), primary keys, unique constraints, foreign keys,
//! checks and indexes.

use cinegen_store::testing::TestDatabase;
use cinegen_store::{Engine, connect};
use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use std::collections::{BTreeMap, BTreeSet};

/// A schema, reduced to what both engines can state alike.
#[derive(Debug, Default, PartialEq)]
struct Schema {
    /// Table → its columns in order, each `name type [NOT NULL] [DEFAULT value]`.
    columns: BTreeMap<String, Vec<String>>,
    primary_keys: BTreeSet<String>,
    uniques: BTreeSet<String>,
    foreign_keys: BTreeSet<String>,
    /// `table: columns` of each check (the expressions themselves are spelled differently).
    checks: BTreeSet<String>,
    /// Index name → `UNIQUE? table (keys) WHERE predicate`.
    indexes: BTreeMap<String, String>,
}

impl Schema {
    /// Names each part that differs, with both versions.
    fn differences(&self, other: &Schema) -> Vec<String> {
        let mut found = Vec::new();
        let mut part = |name: &str, left: String, right: String| {
            if left != right {
                found.push(format!("{name}:\n  sqlite:   {left}\n  postgres: {right}"));
            }
        };
        let tables: BTreeSet<_> = self.columns.keys().chain(other.columns.keys()).collect();
        for table in tables {
            part(
                &format!("columns of {table}"),
                format!("{:?}", self.columns.get(table)),
                format!("{:?}", other.columns.get(table)),
            );
        }
        part("primary keys", format!("{:?}", self.primary_keys), format!("{:?}", other.primary_keys));
        part("unique constraints", format!("{:?}", self.uniques), format!("{:?}", other.uniques));
        part("foreign keys", format!("{:?}", self.foreign_keys), format!("{:?}", other.foreign_keys));
        part("checks", format!("{:?}", self.checks), format!("{:?}", other.checks));
        let names: BTreeSet<_> = self.indexes.keys().chain(other.indexes.keys()).collect();
        for name in names {
            part(
                &format!("index {name}"),
                format!("{:?}", self.indexes.get(name)),
                format!("{:?}", other.indexes.get(name)),
            );
        }
        found
    }
}

fn column(name: &str, sqlite_type: &str, not_null: bool, default: Option<String>) -> String {
    let mut text = format!("{name} {sqlite_type}");
    if not_null {
        text.push_str(" NOT NULL");
    }
    if let Some(default) = default {
        text.push_str(&format!(" DEFAULT {default}"));
    }
    text
}

/// Casts, parentheses and spacing dropped, booleans as SQLite stores them: `('pending'::text)`
/// and `'pending'` read the same.
fn normalized(expression: &str) -> String {
    let mut text = String::new();
    let mut rest = expression;
    while let Some(at) = rest.find("::") {
        text.push_str(&rest[..at]);
        rest = rest[at + 2..].trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ' ');
    }
    text.push_str(rest);
    let text: String = text.chars().filter(|c| !c.is_whitespace() && *c != '(' && *c != ')').collect();
    match text.to_lowercase().as_str() {
        "false" => "0".into(),
        "true" => "1".into(),
        _ => text,
    }
}

/// The SQLite type a PostgreSQL column is stored as in the other engine's schema.
fn as_sqlite_type(postgres_type: &str) -> String {
    match postgres_type {
        "uuid" => "BLOB",
        "timestamp with time zone" | "bigint" | "integer" | "boolean" => "INTEGER",
        "jsonb" | "text" => "TEXT",
        other => return format!("unmapped postgres type {other}"),
    }
    .into()
}

/// The balanced `( … )` that follows each `CHECK` in a CREATE TABLE statement.
fn check_expressions(create_table: &str) -> Vec<String> {
    let upper = create_table.to_uppercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = upper[from..].find("CHECK") {
        let start = from + at;
        // The keyword, not a name that contains it (`checked_at`).
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let before = upper[..start].chars().next_back().is_some_and(word);
        let after = upper[start + 5..].trim_start();
        if before || !after.starts_with('(') {
            from = start + 5;
            continue;
        }
        let open = start + 5 + (upper[start + 5..].len() - after.len());
        let mut depth = 0;
        let mut close = open;
        for (i, c) in create_table[open..].char_indices() {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            if depth == 0 {
                close = open + i;
                break;
            }
        }
        found.push(create_table[open + 1..close].to_owned());
        from = close;
    }
    found
}

async fn sqlite_schema(url: &str) -> Schema {
    let mut conn = SqliteConnection::connect(url).await.unwrap();
    let mut schema = Schema::default();
    let tables = sqlx::query(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for table in tables {
        let (table, sql): (String, String) = (table.get("name"), table.get("sql"));
        let info =
            sqlx::query("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info($1) ORDER BY cid")
                .bind(&table)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let mut key: Vec<(i64, String)> = Vec::new();
        let mut names = Vec::new();
        let mut columns = Vec::new();
        for c in &info {
            let (name, pk): (String, i64) = (c.get("name"), c.get("pk"));
            if pk > 0 {
                key.push((pk, name.clone()));
            }
            // A key column holds no NULL on PostgreSQL; SQLite would take one in a non-INTEGER
            // key, but every key here is always written, so the two are read as the same.
            let not_null = c.get::<bool, _>("notnull") || pk > 0;
            let default = c.get::<Option<String>, _>("dflt_value").map(|d| normalized(&d));
            columns.push(column(&name, &c.get::<String, _>("type"), not_null, default));
            names.push(name);
        }
        key.sort();
        schema
            .primary_keys
            .insert(format!("{table} ({})", key.into_iter().map(|(_, n)| n).collect::<Vec<_>>().join(", ")));
        schema.columns.insert(table.clone(), columns);

        let foreign = sqlx::query(
            "SELECT id, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(&table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut by_id: BTreeMap<i64, (String, Vec<String>, Vec<String>, String)> = BTreeMap::new();
        for f in foreign {
            let entry =
                by_id.entry(f.get("id")).or_insert_with(|| (f.get("table"), vec![], vec![], f.get("on_delete")));
            entry.1.push(f.get("from"));
            entry.2.push(f.get("to"));
        }
        for (target, from, to, on_delete) in by_id.into_values() {
            schema.foreign_keys.insert(format!(
                "{table} ({}) → {target} ({}) ON DELETE {on_delete}",
                from.join(", "),
                to.join(", ")
            ));
        }

        for expression in check_expressions(&sql) {
            let words: BTreeSet<&str> = expression.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).collect();
            let mentioned: Vec<&str> = names.iter().map(String::as_str).filter(|n| words.contains(n)).collect();
            schema.checks.insert(format!("{table}: {}", mentioned.join(", ")));
        }

        let indexes = sqlx::query("SELECT name, \"unique\", origin FROM pragma_index_list($1)")
            .bind(&table)
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for index in indexes {
            let (name, origin): (String, String) = (index.get("name"), index.get("origin"));
            let keys =
                sqlx::query("SELECT name, \"desc\", coll FROM pragma_index_xinfo($1) WHERE key = 1 ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            let keys: Vec<String> = keys
                .iter()
                .map(|k| {
                    let column: String = k.get("name");
                    // Case-insensitive text: NOCASE here, an index on lower() there.
                    let key = if k.get::<String, _>("coll") == "NOCASE" { format!("lower({column})") } else { column };
                    if k.get::<bool, _>("desc") { format!("{key} DESC") } else { key }
                })
                .collect();
            match origin.as_str() {
                "pk" => {}
                "u" => {
                    schema.uniques.insert(format!("{table} ({})", keys.join(", ")));
                }
                _ => {
                    let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = $1")
                        .bind(&name)
                        .fetch_one(&mut conn)
                        .await
                        .unwrap();
                    let predicate = sql.split_once(" WHERE ").map(|(_, p)| normalized(p)).unwrap_or_default();
                    let unique = if index.get::<bool, _>("unique") { "UNIQUE " } else { "" };
                    schema.indexes.insert(name, format!("{unique}{table} ({}) WHERE {predicate}", keys.join(", ")));
                }
            }
        }
    }
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let mut schema = Schema::default();
    let columns = sqlx::query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, c.data_type::text AS data_type, \
                c.is_nullable = 'NO' AS not_null, c.column_default::text AS column_default \
         FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name <> '_sqlx_migrations' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for c in columns {
        let default = c.get::<Option<String>, _>("column_default").map(|d| normalized(&d));
        schema.columns.entry(c.get("table_name")).or_default().push(column(
            c.get("column_name"),
            &as_sqlite_type(c.get("data_type")),
            c.get("not_null"),
            default,
        ));
    }

    // Constraints with their columns in key order.
    let constraints = sqlx::query(
        "SELECT con.contype::text AS kind, rel.relname::text AS table_name, \
                ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, n) \
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns, \
                ref.relname::text AS target, \
                ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, n) \
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.n) AS target_columns, \
                con.confdeltype::text AS on_delete \
         FROM pg_constraint con \
         JOIN pg_class rel ON rel.oid = con.conrelid \
         JOIN pg_namespace ns ON ns.oid = rel.relnamespace \
         LEFT JOIN pg_class ref ON ref.oid = con.confrelid \
         WHERE ns.nspname = 'public' AND rel.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for con in constraints {
        let (kind, table, columns): (String, String, Vec<String>) =
            (con.get("kind"), con.get("table_name"), con.get("columns"));
        let columns_text = columns.join(", ");
        match kind.as_str() {
            "p" => {
                schema.primary_keys.insert(format!("{table} ({columns_text})"));
            }
            "u" => {
                schema.uniques.insert(format!("{table} ({columns_text})"));
            }
            "c" => {
                // Columns in table order, as the other side lists them.
                let order = &schema.columns[&table];
                let mut mentioned: Vec<&String> = columns.iter().collect();
                mentioned.sort_by_key(|name| order.iter().position(|c| c.split(' ').next() == Some(name.as_str())));
                let mentioned: Vec<&str> = mentioned.into_iter().map(String::as_str).collect();
                schema.checks.insert(format!("{table}: {}", mentioned.join(", ")));
            }
            "f" => {
                let on_delete = match con.get::<String, _>("on_delete").as_str() {
                    "c" => "CASCADE",
                    "n" => "SET NULL",
                    "d" => "SET DEFAULT",
                    "r" => "RESTRICT",
                    _ => "NO ACTION",
                };
                schema.foreign_keys.insert(format!(
                    "{table} ({columns_text}) → {} ({}) ON DELETE {on_delete}",
                    con.get::<String, _>("target"),
                    con.get::<Vec<String>, _>("target_columns").join(", ")
                ));
            }
            // NOT NULL (PostgreSQL 18 lists it here too) is read from the columns.
            "n" => {}
            other => panic!("constraint of kind {other} on {table}: teach this test to compare it"),
        }
    }

    // Indexes made by CREATE INDEX, not by a constraint.
    let indexes = sqlx::query(
        "SELECT ic.relname::text AS name, rel.relname::text AS table_name, i.indisunique AS is_unique, \
                ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) || \
                             CASE WHEN i.indoption[k - 1] & 1 = 1 THEN ' DESC' ELSE '' END \
                      FROM generate_series(1, i.indnkeyatts) k ORDER BY k) AS keys, \
                pg_get_expr(i.indpred, i.indrelid) AS predicate \
         FROM pg_index i \
         JOIN pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_class rel ON rel.oid = i.indrelid \
         JOIN pg_namespace ns ON ns.oid = rel.relnamespace \
         WHERE ns.nspname = 'public' AND rel.relname <> '_sqlx_migrations' \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for index in indexes {
        let unique = if index.get::<bool, _>("is_unique") { "UNIQUE " } else { "" };
        let predicate = index.get::<Option<String>, _>("predicate").map(|p| normalized(&p)).unwrap_or_default();
        schema.indexes.insert(
            index.get("name"),
            format!(
                "{unique}{} ({}) WHERE {predicate}",
                index.get::<String, _>("table_name"),
                index.get::<Vec<String>, _>("keys").join(", ")
            ),
        );
    }
    schema
}

/// Both engines migrated from scratch.
async fn migrated() -> (TestDatabase, TestDatabase) {
    let sqlite = TestDatabase::create(Engine::Sqlite).await;
    let postgres = TestDatabase::create(Engine::Postgres).await;
    for db in [&sqlite, &postgres] {
        connect(&db.connect_options()).await.expect("connect and migrate").close().await;
    }
    (sqlite, postgres)
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_are_equivalent() {
    let (sqlite, postgres) = migrated().await;
    let (lite, pg) = (sqlite_schema(&sqlite.url).await, postgres_schema(&postgres.url).await);
    // What the comparison stands on: every table of the data model, read from both catalogs.
    for table in ["users", "sessions", "projects", "project_members", "files", "tasks", "usage_events", "job_leases"] {
        assert!(lite.columns.contains_key(table) && pg.columns.contains_key(table), "{table} missing");
    }
    assert!(lite.indexes.len() >= 10 && lite.foreign_keys.len() >= 10 && lite.checks.len() >= 5, "{lite:#?}");
    let differences = lite.differences(&pg);
    assert!(differences.is_empty(), "the schemas differ:\n{}", differences.join("\n"));
}

#[tokio::test]
async fn a_difference_between_the_postgres_and_sqlite_schemas_is_found() {
    let (sqlite, postgres) = migrated().await;
    let mut conn = SqliteConnection::connect(&sqlite.url).await.unwrap();
    for drift in [
        "ALTER TABLE projects ADD COLUMN colour TEXT",
        "CREATE INDEX files_type_idx ON files (file_type)",
        "DROP INDEX tasks_running_idx",
        "CREATE INDEX tasks_running_idx ON tasks (locked_until) WHERE status = 'pending'",
    ] {
        sqlx::query(drift).execute(&mut conn).await.unwrap();
    }
    let differences = sqlite_schema(&sqlite.url).await.differences(&postgres_schema(&postgres.url).await);
    let named: Vec<&str> = differences.iter().map(|d| d.split(':').next().unwrap()).collect();
    assert_eq!(named, ["columns of projects", "index files_type_idx", "index tasks_running_idx"], "{differences:#?}");
}

#[test]
fn expressions_read_the_same_on_both_catalogs() {
    assert_eq!(normalized("(status = 'pending'::text)"), "status='pending'");
    assert_eq!(normalized("status = 'pending'"), "status='pending'");
    assert_eq!(normalized("'{}'::jsonb"), "'{}'");
    assert_eq!(normalized("false"), "0");
    assert_eq!(
        check_expressions("a INT CHECK (a >= 0), b TEXT CHECK (b IN ('x', 'y')), checked_at INTEGER, c_check TEXT"),
        ["a >= 0", "b IN ('x', 'y')"]
    );
}
