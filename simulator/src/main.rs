//! `vireo-sim`: run the deterministic simulator from a seed.

fn main() {
    eprintln!("vireo-sim: not built yet");
    std::process::exit(2);
}
