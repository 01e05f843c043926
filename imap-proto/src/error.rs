//! Parse errors of the public entry points.

use crate::types::Tag;

/// What went wrong while parsing a complete command or response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input does not match the grammar.
    Syntax,
    /// A nested structure is deeper than the configured limit.
    TooDeep,
    /// A valid item was followed by unexpected octets.
    TrailingData,
}

/// A parse failure, with the tag when the input started with one so a
/// server can answer `tag BAD` (RFC 9051 §7.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The tag of the failed command, if one could be read.
    pub tag: Option<Tag>,
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// Offset of the failure in the input.
    pub offset: usize,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            ParseErrorKind::Syntax => "syntax error",
            ParseErrorKind::TooDeep => "nesting too deep",
            ParseErrorKind::TrailingData => "unexpected data after the end",
        };
        write!(f, "{what} at offset {}", self.offset)
    }
}

impl std::error::Error for ParseError {}

/// Runs a complete-input nom parser over all of `input`, mapping failures.
pub(crate) fn run<'a, T>(
    input: &'a [u8],
    tag: Option<Tag>,
    res: nom::IResult<&'a [u8], T>,
) -> Result<T, ParseError> {
    match res {
        Ok((&[], v)) => Ok(v),
        Ok((rest, _)) => Err(ParseError {
            tag,
            kind: ParseErrorKind::TrailingData,
            offset: input.len() - rest.len(),
        }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(ParseError {
            tag,
            kind: if e.code == nom::error::ErrorKind::TooLarge {
                ParseErrorKind::TooDeep
            } else {
                ParseErrorKind::Syntax
            },
            offset: input.len() - e.input.len(),
        }),
        Err(nom::Err::Incomplete(_)) => Err(ParseError {
            tag,
            kind: ParseErrorKind::Syntax,
            offset: input.len(),
        }),
    }
}
