//! The sansmail mail model on Maildir files and a redb index.
