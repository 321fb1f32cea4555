//! Command line entry point; all the work is in the library.

fn main() -> std::process::ExitCode {
    sme_ledger::cli::main()
}
