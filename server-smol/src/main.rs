//! The `sansmail` binary: the command line of docs/DESIGN.md §4 lives in
//! the library's `cli` module (feature `cli`, on by default).

fn main() -> std::process::ExitCode {
    sansmail::cli::main()
}
