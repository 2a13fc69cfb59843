//! The size of a proof test: its short mode in `cargo test`, its long mode when
//! `AGENTSHIM_SOAK=1` (what `scripts/soak.sh` sets).

/// `short` normally, `long` in a soak run.
pub fn size(short: usize, long: usize) -> usize {
    match std::env::var("AGENTSHIM_SOAK").as_deref() {
        Ok("1") => long,
        _ => short,
    }
}
