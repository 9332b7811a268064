//! Compiles ducha/v1/*.proto with the protoc that ships inside the
//! protoc-bin-vendored crate, so a fresh machine needs no system protoc.

use std::path::PathBuf;

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
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("ducha_v1_descriptor.bin"))
        // Chunks of evidence pass through without copies.
        .bytes(".ducha.v1")
        .compile_protos(&files, &[PathBuf::from(".")])?;
    Ok(())
}
