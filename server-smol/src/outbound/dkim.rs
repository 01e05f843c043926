//! DKIM keys and signing (placeholder until the next commit).
