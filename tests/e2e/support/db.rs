//! A database of its own for each test: SQLite in the test's data folder,
//! or, when DUCHA_TEST_DATABASE_URL is set, a fresh PostgreSQL database
//! dropped with the test.

/// A database of its own for one test; dropped with the test.
pub struct TestDb {
    pub url: Option<String>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// SQLite in the data folder, or a fresh PostgreSQL database.
    pub async fn new() -> TestDb {
        let Ok(admin) = std::env::var("DUCHA_TEST_DATABASE_URL") else {
            return TestDb {
                url: None,
                pg: None,
            };
        };
        let name = format!("ducha_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("DUCHA_TEST_DATABASE_URL must reach PostgreSQL");
        sqlx::Executor::execute(
            &mut conn,
            sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
        )
        .await
        .expect("create test database");
        let url = with_database(&admin, &name);
        TestDb {
            url: Some(url),
            pg: Some((admin, name)),
        }
    }
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs outside async context: use a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) =
                        <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                    {
                        let _ = sqlx::Executor::execute(
                            &mut c,
                            sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )),
                        )
                        .await;
                    }
                });
            })
            .join();
        }
    }
}
