//! The two migration folders describe one schema: applied to SQLite and
//! to PostgreSQL, they must give the same tables, columns (types mapped,
//! nullability), primary keys, and unique constraints and indexes (by
//! their columns and whether they are partial). Runs when the suite runs
//! on PostgreSQL (DUCHA_TEST_DATABASE_URL), as CI does.

use std::collections::BTreeSet;

use sqlx::{Connection, Row};

use crate::support::db::TestDb;

/// A column: table, name, type class, nullable.
type Column = (String, String, &'static str, bool);
/// An index: table, columns in order, unique, partial.
type Index = (String, Vec<String>, bool, bool);

#[derive(Debug, Default)]
struct Schema {
    columns: BTreeSet<Column>,
    primary_keys: BTreeSet<(String, Vec<String>)>,
    indexes: BTreeSet<Index>,
    views: BTreeSet<String>,
}

/// What a column holds, whatever each database calls it: SQLite keeps
/// times, ids and JSON as text and flags as integers.
fn class(declared: &str) -> &'static str {
    match declared.to_ascii_lowercase().as_str() {
        "text"
        | "character varying"
        | "varchar"
        | "jsonb"
        | "json"
        | "timestamp with time zone"
        | "timestamptz"
        | "date" => "text",
        "integer" | "bigint" | "smallint" | "boolean" | "int" | "int8" | "bool" => "integer",
        "real" | "double precision" | "float8" | "double" | "numeric" => "real",
        // sqlx keeps a UUID in SQLite as its 16 bytes.
        "blob" | "bytea" | "uuid" => "blob",
        _ => "other",
    }
}

async fn sqlite_schema() -> Schema {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::migrate!("../migrations/sqlite")
        .run(&mut c)
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let mut s = Schema {
        views: sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'view'")
            .fetch_all(&mut c)
            .await
            .unwrap()
            .into_iter()
            .collect(),
        ..Schema::default()
    };
    for t in tables {
        let cols = sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)")
            .bind(&t)
            .fetch_all(&mut c)
            .await
            .unwrap();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for r in cols {
            let name: String = r.get(0);
            let pk_at: i64 = r.get(3);
            // A primary key is never null, whatever SQLite's flag says.
            let nullable = r.get::<i64, _>(2) == 0 && pk_at == 0;
            s.columns
                .insert((t.clone(), name.clone(), class(r.get(1)), nullable));
            if pk_at > 0 {
                pk.push((pk_at, name));
            }
        }
        pk.sort();
        s.primary_keys
            .insert((t.clone(), pk.into_iter().map(|(_, n)| n).collect()));
        let indexes =
            sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)")
                .bind(&t)
                .fetch_all(&mut c)
                .await
                .unwrap();
        for i in indexes {
            let origin: String = i.get(2);
            if origin == "pk" {
                continue;
            }
            let name: String = i.get(0);
            let columns: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
            s.indexes.insert((
                t.clone(),
                columns,
                i.get::<i64, _>(1) == 1,
                i.get::<i64, _>(3) == 1,
            ));
        }
    }
    s
}

async fn postgres_schema(url: &str) -> Schema {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::migrate!("../migrations/postgres")
        .run(&mut c)
        .await
        .unwrap();
    let mut s = Schema {
        views: sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.views WHERE table_schema = 'public'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap()
        .into_iter()
        .collect(),
        ..Schema::default()
    };
    let cols = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.is_nullable = 'YES'
           FROM information_schema.columns c
           JOIN information_schema.tables t
             ON t.table_schema = c.table_schema AND t.table_name = c.table_name
          WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
            AND c.table_name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for r in cols {
        s.columns
            .insert((r.get(0), r.get(1), class(r.get::<&str, _>(2)), r.get(3)));
    }
    let indexes = sqlx::query(
        "SELECT t.relname::text, i.indisprimary, i.indisunique, i.indpred IS NOT NULL,
                ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n
                       ORDER BY k.o)
           FROM pg_index i
           JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_namespace ns ON ns.oid = t.relnamespace
          WHERE ns.nspname = 'public' AND t.relname NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let tables: BTreeSet<String> = s.columns.iter().map(|c| c.0.clone()).collect();
    for t in &tables {
        s.primary_keys.insert((t.clone(), Vec::new()));
    }
    for r in indexes {
        let (table, primary, unique, partial, columns): (String, bool, bool, bool, Vec<String>) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        if primary {
            s.primary_keys.remove(&(table.clone(), Vec::new()));
            s.primary_keys.insert((table, columns));
        } else {
            s.indexes.insert((table, columns, unique, partial));
        }
    }
    s
}

fn differences<T: Ord + std::fmt::Debug>(
    what: &str,
    a: &BTreeSet<T>,
    b: &BTreeSet<T>,
) -> Vec<String> {
    let mut out: Vec<String> = a
        .difference(b)
        .map(|x| format!("{what} only on SQLite: {x:?}"))
        .collect();
    out.extend(
        b.difference(a)
            .map(|x| format!("{what} only on PostgreSQL: {x:?}")),
    );
    out
}

#[tokio::test]
async fn both_migration_folders_make_the_same_schema() {
    let db = TestDb::new().await;
    let Some(url) = db.url.clone() else {
        // Only SQLite here: the comparison runs in the PostgreSQL suite.
        return;
    };
    let (lite, pg) = (sqlite_schema().await, postgres_schema(&url).await);
    assert!(lite.columns.len() > 100, "{} columns", lite.columns.len());
    assert!(lite.indexes.len() > 20, "{} indexes", lite.indexes.len());
    let mut problems = differences("column", &lite.columns, &pg.columns);
    problems.extend(differences(
        "primary key",
        &lite.primary_keys,
        &pg.primary_keys,
    ));
    problems.extend(differences("index", &lite.indexes, &pg.indexes));
    problems.extend(differences("view", &lite.views, &pg.views));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
