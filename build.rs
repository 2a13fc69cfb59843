//! Compiles `proto/` into the gRPC stubs (included by `src/rpc.rs`), with the protoc shipped in
//! the `protoc-bin-vendored` crate so a fresh machine needs no system protoc. Also writes the
//! file descriptor set that server reflection serves.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("agentshim_descriptor.bin"))
        .compile_with_config(config, &["proto/agentshim/v1/agentshim.proto"], &["proto"])?;
    Ok(())
}
