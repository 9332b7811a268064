//! Compiles ducha/v1/*.proto with the protoc that ships inside the
//! protoc-bin-vendored crate, so a fresh machine needs no system protoc;
//! then writes out how each method may be called, as its options say.

use std::fmt::Write as _;
use std::path::PathBuf;

use prost_reflect::{DescriptorPool, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; prost-build reads PROTOC.
    unsafe { std::env::set_var("PROTOC", protoc) };

    let dir = PathBuf::from("ducha/v1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    files.sort();
    // The folder too, so that a new .proto file is noticed.
    println!("cargo:rerun-if-changed=ducha/v1");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }

    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptors = out.join("ducha_v1_descriptor.bin");
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptors)
        // Chunks of evidence pass through without copies.
        .bytes(".ducha.v1")
        .compile_protos(&files, &[PathBuf::from(".")])?;
    std::fs::write(
        out.join("ducha_v1_methods.rs"),
        method_rules(&std::fs::read(&descriptors)?)?,
    )?;
    Ok(())
}

/// `METHODS`: every method of ducha.v1 with whether it is public (the
/// `ducha.v1.public` option) and when a call may be retried (its
/// `idempotency_level`, or a `request_id` field in its request).
fn method_rules(descriptor_set: &[u8]) -> Result<String, Box<dyn std::error::Error>> {
    let pool = DescriptorPool::decode(descriptor_set)?;
    let public = pool
        .get_extension_by_name("ducha.v1.public")
        .ok_or("ducha.v1.public is not defined")?;
    let mut code = String::from("pub const METHODS: &[MethodRules] = &[\n");
    for service in pool.services().filter(|s| s.package_name() == "ducha.v1") {
        for m in service.methods() {
            let options = m.options();
            let is_public = matches!(*options.get_extension(&public), Value::Bool(true));
            // 1 = NO_SIDE_EFFECTS, 2 = IDEMPOTENT (descriptor.proto).
            let level = m
                .method_descriptor_proto()
                .options
                .as_ref()
                .and_then(|o| o.idempotency_level)
                .unwrap_or(0);
            let retry = if level == 1 || level == 2 {
                "Retry::Always".to_string()
            } else if let Some(f) = m.input().get_field_by_name("request_id") {
                format!("Retry::WithRequestId({})", f.number())
            } else {
                "Retry::Never".to_string()
            };
            writeln!(
                code,
                "    MethodRules {{ path: \"/{}/{}\", public: {is_public}, retry: {retry}, \
                 client_streaming: {}, server_streaming: {} }},",
                service.full_name(),
                m.name(),
                m.is_client_streaming(),
                m.is_server_streaming(),
            )?;
        }
    }
    code.push_str("];\n");
    Ok(code)
}
