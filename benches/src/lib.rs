//! Benches and the load generator for sansmail.
