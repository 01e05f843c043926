//! Message flags: IMAP system flags (RFC 9051 §2.3.2) and their Maildir info
//! letters (<https://cr.yp.to/proto/maildir.html>, "2," experimental semantics).

/// A set of system flags, stored as a bit mask in the index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(u16);

impl Flags {
    /// `\Seen` (Maildir `S`).
    pub const SEEN: Flags = Flags(1);
    /// `\Answered` (Maildir `R`, "replied").
    pub const ANSWERED: Flags = Flags(1 << 1);
    /// `\Flagged` (Maildir `F`).
    pub const FLAGGED: Flags = Flags(1 << 2);
    /// `\Deleted` (Maildir `T`, "trashed").
    pub const DELETED: Flags = Flags(1 << 3);
    /// `\Draft` (Maildir `D`).
    pub const DRAFT: Flags = Flags(1 << 4);
    /// `$Forwarded` (Maildir `P`, "passed"; RFC 5550 keyword).
    pub const FORWARDED: Flags = Flags(1 << 5);

    /// Maildir info letters in the ASCII order the spec requires.
    const LETTERS: [(char, Flags); 6] = [
        ('D', Flags::DRAFT),
        ('F', Flags::FLAGGED),
        ('P', Flags::FORWARDED),
        ('R', Flags::ANSWERED),
        ('S', Flags::SEEN),
        ('T', Flags::DELETED),
    ];

    /// No flags.
    #[must_use]
    pub const fn empty() -> Flags {
        Flags(0)
    }

    /// The raw bit mask (the index encoding).
    #[must_use]
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// From the raw bit mask; unknown bits are kept for forward compatibility.
    #[must_use]
    pub const fn from_bits(bits: u16) -> Flags {
        Flags(bits)
    }

    /// Whether every flag of `other` is set.
    #[must_use]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets together.
    #[must_use]
    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// Flags from a Maildir info part after `:2,` (e.g. `"FS"`). Unknown
    /// letters (lower-case ones are Dovecot keywords) are ignored here and
    /// kept in the file name.
    #[must_use]
    pub fn from_maildir_info(info: &str) -> Flags {
        info.chars().fold(Flags::empty(), |acc, c| {
            match Flags::LETTERS.iter().find(|(l, _)| *l == c) {
                Some((_, f)) => acc.union(*f),
                None => acc,
            }
        })
    }

    /// The Maildir info letters for these flags, in ASCII order.
    #[must_use]
    pub fn to_maildir_info(self) -> String {
        Flags::LETTERS
            .iter()
            .filter(|(_, f)| self.contains(*f))
            .map(|(l, _)| *l)
            .collect()
    }
}

/// Normalises IMAP keywords: sorted, deduplicated, empty ones dropped.
pub(crate) fn normalise_keywords(keywords: &[String]) -> Vec<String> {
    let mut v: Vec<String> = keywords.iter().filter(|k| !k.is_empty()).cloned().collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maildir_letters_round_trip() {
        let f = Flags::from_maildir_info("SRFa");
        assert_eq!(f, Flags::SEEN.union(Flags::ANSWERED).union(Flags::FLAGGED));
        assert_eq!(f.to_maildir_info(), "FRS");
        assert_eq!(Flags::from_maildir_info(""), Flags::empty());
        assert_eq!(Flags::from_maildir_info("DPT").bits(), 0b11_1000);
    }
}
