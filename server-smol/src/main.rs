//! The `sansmail` binary.
fn main() {}
