//! The `derl` command line.

fn main() -> std::process::ExitCode {
    derl::cli::main()
}
