//! Compiles `proto/` into the gRPC stubs (included by `src/rpc.rs`), with the protoc shipped in
//! the `protoc-bin-vendored` crate so a fresh machine needs no system protoc. Also writes the
//! file descriptor set that server reflection serves, and the table of the web console's files
//! (`src/web/assets/`, embedded by `src/web/assets.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const WEB_ASSETS: &str = "src/web/assets";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("agentshim_descriptor.bin"))
        .compile_with_config(config, &["proto/agentshim/v1/agentshim.proto"], &["proto"])?;
    write_web_assets(&out_dir.join("web_assets.rs"))?;
    Ok(())
}

/// Writes `[(path relative to the assets directory, include_bytes!(its file))]` for every file
/// of the web console, sorted by path.
fn write_web_assets(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={WEB_ASSETS}");
    // Read when the script runs (cargo sets it), not when it was compiled: a build script
    // compiled for one checkout may be reused for another in a shared target directory.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join(WEB_ASSETS);
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        println!("cargo:rerun-if-changed={}", dir.display());
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut table = String::from("&[\n");
    for file in files {
        let relative = file
            .strip_prefix(&root)?
            .to_str()
            .ok_or("a non-UTF-8 asset name")?;
        writeln!(
            table,
            "    ({relative:?}, include_bytes!({:?})),",
            file.display().to_string()
        )?;
    }
    table.push(']');
    std::fs::write(out, table)?;
    Ok(())
}
