//! Account addresses: validation and normalisation.
//!
//! An address `local@domain` names both an index key and a directory,
//! `mail/<domain>/<local>/`, so validation is a security boundary: nothing a
//! peer sends may escape the mail root.
//!
//! Normalisation: the domain is lower-cased (domains are case-insensitive,
//! RFC 5321 §2.4). RFC 5321 §2.4 lets a host treat local parts as
//! case-sensitive, but Postfix and Dovecot match them case-insensitively in
//! practice, and so do we: the index key and the directory use the lower-cased
//! local part, while the spelling given at `add_user` is kept for display.
//!
//! Unicode (RFC 6531 addresses): the whole address is put in Normalization
//! Form C first (RFC 6532 §3.1 recommends NFC for UTF-8 header content),
//! so `é` typed precomposed or as `e` + U+0301 names one account and one
//! directory. Invisible format characters are refused outright: bidi
//! controls (which make `alice@x` display as something else, the
//! "Trojan Source" trick, CVE-2021-42574) and zero-width characters (which
//! make two different accounts look identical, RFC 8264 §9 on confusables).

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Longest local part accepted (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_PART: usize = 64;
/// Longest domain accepted (RFC 5321 §4.5.3.1.2).
pub const MAX_DOMAIN: usize = 255;

/// A validated account address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// The local part as given (case preserved).
    local: String,
    /// The lower-cased local part: used for the key and the directory.
    local_key: String,
    /// The lower-cased domain.
    domain: String,
}

impl Address {
    /// Parses and validates `local@domain` (split at the last `@`).
    ///
    /// # Errors
    /// A human-readable reason when the address is empty, too long, or holds
    /// anything that could escape the mail root: `/`, `\`, `..`, a leading
    /// `.`, whitespace or control characters.
    pub fn parse(address: &str) -> Result<Address, String> {
        if let Some(c) = address.chars().find(|&c| is_invisible(c)) {
            return Err(format!(
                "address contains invisible character U+{:04X}",
                u32::from(c)
            ));
        }
        // ASCII is already in NFC and has no invisible characters: the
        // common case skips the normaliser (which showed in IMAP profiles,
        // since every store call names its account by address).
        let address: std::borrow::Cow<'_, str> = if address.is_ascii() {
            std::borrow::Cow::Borrowed(address)
        } else {
            std::borrow::Cow::Owned(address.nfc().collect())
        };
        let (local, domain) = address
            .rsplit_once('@')
            .ok_or_else(|| format!("{address:?} has no '@'"))?;
        check_local_part(local)?;
        check_domain(domain)?;
        Ok(Address {
            local: local.to_owned(),
            local_key: local.to_lowercase(),
            domain: domain.to_lowercase(),
        })
    }

    /// The index key: lower-cased `local@domain`.
    #[must_use]
    pub fn key(&self) -> String {
        format!("{}@{}", self.local_key, self.domain)
    }

    /// The display form: the local part as given, the domain lower-cased.
    #[must_use]
    pub fn display(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }

    /// The lower-cased local part (the account's directory name).
    #[must_use]
    pub fn local_key(&self) -> &str {
        &self.local_key
    }

    /// The lower-cased domain (the domain's directory name).
    #[must_use]
    pub fn domain(&self) -> &str {
        &self.domain
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// Bidirectional controls (Unicode UAX #9: LRM, RLM, ALM, the embeddings,
/// overrides and isolates) and zero-width or otherwise invisible format
/// characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen, the
/// invisible math operators).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Rules shared by both halves: each becomes a single path component.
fn check_component(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("empty {what}"));
    }
    if s.len() > max {
        return Err(format!("{what} longer than {max} bytes"));
    }
    if s.starts_with('.') {
        return Err(format!("{what} starts with '.'"));
    }
    if s.ends_with('.') {
        return Err(format!("{what} ends with '.'"));
    }
    if s.contains("..") {
        return Err(format!("{what} contains '..'"));
    }
    if let Some(c) = s
        .chars()
        .find(|&c| c == '/' || c == '\\' || c == '@' || c.is_control() || c.is_whitespace())
    {
        return Err(format!("{what} contains {c:?}"));
    }
    Ok(())
}

fn check_local_part(local: &str) -> Result<(), String> {
    check_component("local part", local, MAX_LOCAL_PART)?;
    // Quoted local parts (RFC 5321 §4.1.2 Quoted-string) are not supported
    // for accounts: their quotes and escapes would reach the directory name.
    if local.contains('"') {
        return Err("quoted local parts are not supported".to_owned());
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), String> {
    check_component("domain", domain, MAX_DOMAIN)?;
    // Letters (also non-ASCII U-labels, RFC 6531), digits, '-', '.' and '_'
    // (common in test rigs) only. Address literals are not account domains.
    if let Some(c) = domain
        .chars()
        .find(|&c| !(c.is_alphanumeric() || c == '-' || c == '.' || c == '_'))
    {
        return Err(format!("domain contains {c:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_domain_and_keeps_local_spelling() {
        let a = Address::parse("Alice.Smith@Example.COM").unwrap();
        assert_eq!(a.key(), "alice.smith@example.com");
        assert_eq!(a.display(), "Alice.Smith@example.com");
        assert_eq!(a.local_key(), "alice.smith");
        assert_eq!(a.domain(), "example.com");
    }

    #[test]
    fn splits_at_last_at() {
        assert_eq!(
            Address::parse("a@b@c").unwrap_err(),
            "local part contains '@'"
        );
    }

    #[test]
    fn rejects_path_tricks() {
        let cases = [
            ("", "\"\" has no '@'"),
            ("@localhost", "empty local part"),
            ("alice@", "empty domain"),
            ("../etc@localhost", "local part starts with '.'"),
            ("a..b@localhost", "local part contains '..'"),
            (".hidden@localhost", "local part starts with '.'"),
            ("a/b@localhost", "local part contains '/'"),
            ("a\\b@localhost", "local part contains '\\\\'"),
            ("a\0b@localhost", "local part contains '\\0'"),
            ("a\nb@localhost", "local part contains '\\n'"),
            ("a b@localhost", "local part contains ' '"),
            ("trail.@localhost", "local part ends with '.'"),
            ("alice@..", "domain starts with '.'"),
            ("alice@a/b", "domain contains '/'"),
            ("alice@.localhost", "domain starts with '.'"),
            ("alice@local..host", "domain contains '..'"),
            ("alice@[127.0.0.1]", "domain contains '['"),
            ("\"a b\"@localhost", "local part contains ' '"),
            ("\"ab\"@localhost", "quoted local parts are not supported"),
        ];
        for (input, why) in cases {
            assert_eq!(Address::parse(input).unwrap_err(), why, "input {input:?}");
        }
    }

    #[test]
    fn length_limits() {
        let long = "a".repeat(65);
        assert_eq!(
            Address::parse(&format!("{long}@x")).unwrap_err(),
            "local part longer than 64 bytes"
        );
        let ok = "a".repeat(64);
        assert_eq!(
            Address::parse(&format!("{ok}@x")).unwrap().key(),
            format!("{ok}@x")
        );
    }

    #[test]
    fn accepts_utf8_and_plus() {
        let a = Address::parse("Jöran+tag@Bücher.example").unwrap();
        assert_eq!(a.key(), "jöran+tag@bücher.example");
    }

    #[test]
    fn normalises_to_nfc() {
        // "é" as e + COMBINING ACUTE ACCENT and precomposed: one account.
        let decomposed = Address::parse("Jose\u{0301}@Cafe\u{0301}.example").unwrap();
        let composed = Address::parse("Jos\u{e9}@Caf\u{e9}.example").unwrap();
        assert_eq!(decomposed.key(), composed.key());
        assert_eq!(decomposed.key(), "jos\u{e9}@caf\u{e9}.example");
        assert_eq!(decomposed.display(), "Jos\u{e9}@caf\u{e9}.example");
        assert_eq!(decomposed.local_key(), "jos\u{e9}");
    }

    #[test]
    fn refuses_bidi_and_zero_width() {
        for (input, code) in [
            ("ali\u{202E}ce@localhost", "202E"),
            ("alice\u{200B}@localhost", "200B"),
            ("al\u{200D}ice@localhost", "200D"),
            ("alice@local\u{2066}host", "2066"),
            ("\u{FEFF}alice@localhost", "FEFF"),
            ("alice\u{200F}@localhost", "200F"),
        ] {
            assert_eq!(
                Address::parse(input).unwrap_err(),
                format!("address contains invisible character U+{code}"),
                "input {input:?}"
            );
        }
    }
}
