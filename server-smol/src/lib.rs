//! The sansmail server library.
