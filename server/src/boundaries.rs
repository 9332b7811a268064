//! The layers' boundaries, held by a test: `domain` (rules) uses nothing
//! of the layers above or beside it, nor a framework of I/O, and its
//! modules do not import each other in a circle; `api` (gRPC) reaches the
//! store, object storage and media only through `app`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The Rust files under `dir`, with their module names (the file stem).
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((name, std::fs::read_to_string(&path).expect("source")));
        }
    }
    out
}

/// The source without comments, so that a doc line naming a layer is not
/// taken for a use of it.
fn code(source: &str) -> String {
    source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn crossings(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let mut found = Vec::new();
    for (module, source) in sources(&dir) {
        // Tests may use what the code may not (a real clock, say).
        let code = code(source.split("#[cfg(test)]").next().unwrap_or_default());
        for f in forbidden {
            if code.contains(f) {
                found.push(format!("{layer}/{module}.rs uses {f}"));
            }
        }
    }
    found
}

#[test]
fn the_domain_uses_no_layer_above_it_and_no_io() {
    let found = crossings(
        "domain",
        &[
            "crate::app",
            "crate::store",
            "crate::api",
            "crate::server",
            "crate::config",
            "crate::blob",
            "crate::media",
            "crate::auth",
            "crate::cli",
            "crate::clock",
            "crate::telemetry",
            "crate::health",
            "tonic",
            "sqlx",
            "prost",
            "ducha_proto",
            "tokio",
            "clap",
            "object_store",
            "reqwest",
            "SystemTime::now",
            "Utc::now",
        ],
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_api_reaches_storage_only_through_the_app() {
    let found = crossings(
        "api",
        &[
            "crate::store",
            "crate::blob",
            "crate::media",
            "crate::config",
            "crate::server",
            "crate::auth",
            "sqlx",
            "object_store",
        ],
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_app_speaks_no_grpc() {
    let found = crossings("app", &["tonic", "ducha_proto", "prost", "crate::api"]);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn no_two_domain_modules_import_each_other_in_a_circle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    let modules: BTreeMap<String, String> = sources(&dir).into_iter().collect();
    let names: BTreeSet<&str> = modules.keys().map(String::as_str).collect();
    // Edges: module -> the sibling modules it names (outside its tests).
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (m, source) in &modules {
        let source = source.split("#[cfg(test)]").next().unwrap_or_default();
        let code = code(source);
        let uses = edges.entry(m.as_str()).or_default();
        for other in &names {
            if *other != m
                && *other != "mod"
                && (code.contains(&format!("super::{other}"))
                    || code.contains(&format!("crate::domain::{other}")))
            {
                uses.insert(other);
            }
        }
    }
    // A depth-first walk finds a cycle when it meets a module on its path.
    fn walk<'a>(
        m: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = path.iter().position(|x| *x == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m);
            return Some(cycle);
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        for next in edges.get(m).into_iter().flatten() {
            if let Some(c) = walk(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        if let Some(cycle) = walk(m, &edges, &mut Vec::new(), &mut done) {
            panic!(
                "domain modules import each other in a circle: {}",
                cycle.join(" -> ")
            );
        }
    }
}
