//! Nothing here: the tests in `tests/` use `sansmail::TestServer` as an application would.
