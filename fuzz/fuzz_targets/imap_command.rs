#![no_main]
//! `Command::parse` (and the AUTHENTICATE/IDLE line parsers) never panic,
//! and whatever parses survives encode → parse: re-encoding the parsed value
//! gives bytes that parse to a value with the same encoding. Half of the
//! inputs are mapped onto IMAP tokens so real commands are common.

use imap_proto::command::{AuthenticateData, is_idle_done};
use imap_proto::{Command, Encode, Version};
use libfuzzer_sys::fuzz_target;

const TOKENS: &[&[u8]] = &[
    b"a1 ",
    b"UID ",
    b"FETCH ",
    b"STORE ",
    b"SEARCH ",
    b"LIST ",
    b"SELECT ",
    b"APPEND ",
    b"LOGIN ",
    b"AUTHENTICATE ",
    b"STATUS ",
    b"ENABLE ",
    b"ID ",
    b"MOVE ",
    b"COPY ",
    b"CREATE ",
    b"EXPUNGE",
    b"IDLE",
    b"NOOP",
    b"RETURN ",
    b"CHARSET ",
    b"(",
    b")",
    b"[",
    b"]",
    b"<",
    b">",
    b"{",
    b"}",
    b"{3}\r\n",
    b"{0+}\r\n",
    b"~{2}\r\n",
    b"\"",
    b"\\",
    b"*",
    b"%",
    b"$",
    b":",
    b",",
    b".",
    b"1",
    b"42",
    b"4294967296",
    b" ",
    b"\r\n",
    b"INBOX",
    b"NIL",
    b"BODY",
    b".PEEK",
    b"HEADER.FIELDS",
    b".NOT",
    b"TEXT",
    b"MIME",
    b"BINARY",
    b"BODYSTRUCTURE",
    b"ENVELOPE",
    b"FLAGS",
    b"+FLAGS.SILENT",
    b"\\Seen",
    b"\\Deleted",
    b"$Forwarded",
    b"NOT ",
    b"OR ",
    b"SINCE ",
    b"1-Feb-1994",
    b"\"17-Jul-1996 02:44:25 -0700\"",
    b"MODSEQ ",
    b"CHANGEDSINCE ",
    b"UNCHANGEDSINCE ",
    b"QRESYNC ",
    b"CONDSTORE",
    b"SUBSCRIBED",
    b"CHILDREN",
    b"SPECIAL-USE",
    b"USE ",
    b"\\Drafts",
    b"MESSAGES",
    b"SIZE",
    b"MIN",
    b"SAVE",
    b"SORT ",
    b"THREAD ",
    b"(REVERSE ",
    b"SUBJECT",
    b"ARRIVAL",
    b"DATE",
    b"REFERENCES ",
    b"ORDEREDSUBJECT ",
    b"UTF-8 ",
    b"GETQUOTA ",
    b"GETQUOTAROOT ",
    b"SETQUOTA ",
    b"STORAGE ",
    // ESORT, CONTEXT=SEARCH/SORT (RFC 5267), PARTIAL (RFC 9394).
    b"PARTIAL ",
    b"1:100",
    b"-1:-100",
    b"UPDATE",
    b"CONTEXT",
    b"CANCELUPDATE ",
    b"\"a1\"",
    b"RETURN (PARTIAL -1:-5 COUNT) ",
    b"SORT RETURN (MIN MAX) (SIZE) UTF-8 ",
    // NOTIFY (RFC 5465).
    b"NOTIFY SET ",
    b"STATUS ",
    b"(selected (MessageNew (UID FLAGS) MessageExpunge FlagChange))",
    b"(personal (MailboxName SubscriptionChange))",
    b"subtree ",
    b"selected-delayed ",
    b"NONE",
    b"=",
    b"AGZyZWQ=",
    b"&APw-",
    // RFC 6855, RFC 8474, RFC 8514.
    b"UTF8 (",
    b"UTF8=ACCEPT",
    b"~{2+}\r\n",
    b"EMAILID ",
    b"THREADID ",
    b"MAILBOXID",
    b"SAVEDATE",
    b"SAVEDBEFORE ",
    b"SAVEDON ",
    b"SAVEDSINCE ",
    b"SAVEDATESUPPORTED",
    b"Mab-1_2",
    "é".as_bytes(),
    b"\xff",
    b"\0",
];

fn tokens(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in data {
        match TOKENS.get(usize::from(b)) {
            Some(token) => out.extend_from_slice(token),
            None => out.push(b),
        }
    }
    out
}

fn check(input: &[u8]) {
    let _ = is_idle_done(input);
    if let Ok(d) = AuthenticateData::parse(input) {
        assert_eq!(AuthenticateData::parse(&d.encode()).as_ref(), Ok(&d));
    }
    let Ok(cmd) = Command::parse(input) else {
        return;
    };
    for version in [Version::Rev1, Version::Rev2] {
        let bytes = cmd.to_bytes(version);
        let again = Command::parse(&bytes).expect("encoder output must parse");
        assert_eq!(again.to_bytes(version), bytes);
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((0, rest)) => check(&tokens(rest)),
        _ => check(data),
    }
});
