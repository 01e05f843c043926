//! The sample session of RFC 9051 §8, replayed through the public API: the
//! client and server streams are framed at every split point and byte by
//! byte, every frame is parsed, and every parsed value re-encodes to bytes
//! that parse back to the same value.

use imap_proto::command::{AuthenticateData, Command, CommandBody};
use imap_proto::framer::{Frame, Framer, Role};
use imap_proto::response::{Data, Response};
use imap_proto::{Encode, Limits, Version};

const HEADER: &str = "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
From: Terry Gray <gray@cac.washington.edu>\r\n\
Subject: IMAP4rev2 WG mtg summary and minutes\r\n\
To: imap@cac.washington.edu\r\n\
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n\
Message-Id: <B27397-0100000@cac.washington.edu>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n";

/// Which parser a client frame goes to.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    Command,
    AuthData,
}

fn client_stream() -> (Vec<u8>, Vec<Client>) {
    let lines: &[(&str, Client)] = &[
        ("a000 starttls\r\n", Client::Command),
        (
            "A001 AUTHENTICATE SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=\r\n",
            Client::Command,
        ),
        (
            "Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8laHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYkazAscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5empmTUhnc3FtbWl6N0FuZFZRPQ==\r\n",
            Client::AuthData,
        ),
        ("\r\n", Client::AuthData),
        ("babc ENABLE IMAP4rev2\r\n", Client::Command),
        ("a002 select inbox\r\n", Client::Command),
        ("a003 fetch 12 full\r\n", Client::Command),
        ("a004 fetch 12 body[header]\r\n", Client::Command),
        ("a005 store 12 +flags \\deleted\r\n", Client::Command),
        ("A006 LOGIN {4}\r\nfred {6+}\r\nsecret\r\n", Client::Command),
        ("a007 logout\r\n", Client::Command),
    ];
    (
        lines.iter().flat_map(|(l, _)| l.bytes()).collect(),
        lines.iter().map(|(_, k)| *k).collect(),
    )
}

fn server_stream() -> Vec<u8> {
    let mut s = String::new();
    s += "* OK [CAPABILITY STARTTLS AUTH=SCRAM-SHA-256 LOGINDISABLED IMAP4rev2] IMAP4rev2 Service Ready\r\n";
    s += "a000 OK Proceed with TLS negotiation\r\n";
    s += "+ cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=\r\n";
    s += "+ dj02cmlUUlBHMjNIdUJpeGVZNXJvdXRrWktlNUpBckdRRjVEcVVmVnhXU1lRPQ==\r\n";
    s += "A001 OK SCRAM-SHA-256 authentication successful\r\n";
    s += "* ENABLED IMAP4rev2\r\n";
    s += "babc OK Some capabilities enabled\r\n";
    s += "* 18 EXISTS\r\n";
    s += "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n";
    s += "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n";
    s += "* LIST () \"/\" INBOX (\"OLDNAME\" (\"inbox\"))\r\n";
    s += "a002 OK [READ-WRITE] SELECT completed\r\n";
    s += "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n";
    s += "a003 OK FETCH completed\r\n";
    s += &format!(
        "* 12 FETCH (BODY[HEADER] {{{}}}\r\n{HEADER})\r\n",
        HEADER.len()
    );
    s += "a004 OK FETCH completed\r\n";
    s += "* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n";
    s += "a005 OK +FLAGS completed\r\n";
    s += "+ Ready for literal data\r\n";
    s += "+ Ready for literal data\r\n";
    s += "A006 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n";
    s += "* BYE IMAP4rev2 server terminating connection\r\n";
    s += "a007 OK LOGOUT completed\r\n";
    s.into_bytes()
}

/// Feeds `chunks`, accepting every announced literal; returns the frames.
fn frames(role: Role, chunks: &[&[u8]]) -> Vec<Frame> {
    let mut f = Framer::new(role, Limits::default());
    let mut out = Vec::new();
    for chunk in chunks {
        let mut input = *chunk;
        loop {
            let (used, frame) = f.feed(input);
            input = &input[used..];
            match frame {
                Some(fr @ Frame::LiteralAnnounced { .. }) => {
                    f.accept_literal().expect("literal fits");
                    out.push(fr);
                }
                Some(fr) => out.push(fr),
                None => break,
            }
        }
        assert!(input.is_empty());
    }
    out
}

fn assert_split_invariant(role: Role, stream: &[u8]) -> Vec<Vec<u8>> {
    let whole = frames(role, &[stream]);
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(frames(role, &[a, b]), whole, "split at {cut}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(frames(role, &bytes), whole, "byte by byte");
    whole
        .into_iter()
        .filter_map(|f| match f {
            Frame::Complete(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn client_side_of_rfc9051_section_8() {
    let (stream, kinds) = client_stream();
    let complete = assert_split_invariant(Role::Server, &stream);
    assert_eq!(complete.len(), kinds.len());
    for (frame, kind) in complete.iter().zip(kinds) {
        match kind {
            Client::Command => {
                let cmd = Command::parse(frame)
                    .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(frame)));
                let again = Command::parse(&cmd.to_bytes(Version::Rev2)).unwrap();
                assert_eq!(again, cmd);
            }
            Client::AuthData => {
                let d = AuthenticateData::parse(frame).unwrap();
                assert_eq!(AuthenticateData::parse(&d.encode()).unwrap(), d);
            }
        }
    }
    let login = Command::parse(&complete[9]).unwrap();
    let CommandBody::Login { username, password } = login.body else {
        panic!()
    };
    assert_eq!(username.as_bytes(), b"fred");
    assert_eq!(password.expose().as_bytes(), b"secret");
    assert_eq!(format!("{password:?}"), "Secret(***)");
}

#[test]
fn server_side_of_rfc9051_section_8() {
    let stream = server_stream();
    let complete = assert_split_invariant(Role::Client, &stream);
    assert_eq!(complete.len(), 23);
    for frame in &complete {
        let resp = Response::parse(frame)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(frame)));
        // Server lines in this transcript are canonical: byte-exact.
        assert_eq!(
            String::from_utf8_lossy(&resp.to_bytes(Version::Rev2)),
            String::from_utf8_lossy(frame)
        );
    }
    let Response::Data(Data::Fetch { items, .. }) = Response::parse(&complete[14]).unwrap() else {
        panic!("not FETCH");
    };
    assert_eq!(items.len(), 1);
}
