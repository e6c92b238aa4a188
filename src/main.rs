//! The `stc` command: see `stc --help`.

fn main() {
    std::process::exit(stc_synapse::cli::main());
}
