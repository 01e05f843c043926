//! IMAP URLs with URLAUTH (RFC 5092, RFC 4467): the subset that names one
//! message or section, as GENURLAUTH, URLFETCH and SMTP BURL (RFC 4468)
//! use them.
//!
//! ```text
//! imapurl       = "imap://" iserver ipath-query
//! iserver       = [iuserinfo "@"] host [":" port]
//! imessagepart  = enc-mailbox [uidvalidity] iuid [isection] [ipartial] [iurlauth]
//! uidvalidity   = ";UIDVALIDITY=" nz-number
//! iuid          = "/" ";UID=" nz-number
//! isection      = "/" ";SECTION=" enc-section
//! ipartial      = "/" ";PARTIAL=" partial-range
//! iurlauth      = iurlauth-rump [iua-verifier]
//! iurlauth-rump = [expire] ";URLAUTH=" access
//! access        = ("submit+" enc-user) / ("user+" enc-user) / "authuser" / "anonymous"
//! iua-verifier  = ":" uauth-mechanism ":" enc-urlauth
//! enc-urlauth   = 32*HEXDIG
//! ```
//!
//! Parsing is lenient where clients differ (the `/` before `;UID=` and
//! `;SECTION=` may be missing, parameter names are case-insensitive, an
//! unescaped `@` in the user name is accepted: logins here are
//! addresses). The *rump* — the URL up to and including the access
//! identifier, exactly as written — is what the INTERNAL mechanism's token
//! signs (RFC 4467 §7), so no canonical form is needed.

use std::num::NonZeroU32;

/// Who may use a URLAUTH-authorized URL (RFC 4467 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlAccess {
    /// `submit+<user>`: only a message submission server acting for
    /// `user` (BURL).
    Submit(String),
    /// `user+<user>`: only `user`, logged in to this IMAP server.
    User(String),
    /// `authuser`: any logged-in user of this server.
    AuthUser,
    /// `anonymous`: anyone, logged in or not.
    Anonymous,
}

/// An IMAP URL naming one message (or section) with a URLAUTH component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImapUrl {
    /// The user of `iuserinfo` (percent-decoded), if any: the owner of
    /// the mailbox.
    pub user: Option<String>,
    /// The host (as written).
    pub host: String,
    /// The mailbox name (percent-decoded UTF-8).
    pub mailbox: String,
    /// `;UIDVALIDITY=`.
    pub uid_validity: Option<NonZeroU32>,
    /// `;UID=`.
    pub uid: NonZeroU32,
    /// `;SECTION=` (percent-decoded), e.g. `HEADER`, `1.2`.
    pub section: Option<String>,
    /// `;PARTIAL=offset[.length]`.
    pub partial: Option<(u64, Option<u64>)>,
    /// `;EXPIRE=` as written (an RFC 3339 date-time).
    pub expire: Option<String>,
    /// `;URLAUTH=` access identifier.
    pub access: UrlAccess,
    /// The verifier's mechanism (`INTERNAL`), when present.
    pub mechanism: Option<String>,
    /// The verifier's token (hex), when present.
    pub token: Option<String>,
    /// The URL up to and including the access identifier, as written.
    pub rump: String,
}

/// Why a string is not a usable URLAUTH URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// Not `imap://...` or not well-formed.
    Syntax,
    /// No `;UID=`: only single messages can be authorized here.
    NoUid,
    /// No `;URLAUTH=` component.
    NoUrlAuth,
    /// An unknown access identifier.
    BadAccess,
}

impl std::fmt::Display for UrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UrlError::Syntax => "malformed IMAP URL",
            UrlError::NoUid => "the URL names no message (;UID=)",
            UrlError::NoUrlAuth => "the URL has no ;URLAUTH= component",
            UrlError::BadAccess => "unknown URLAUTH access identifier",
        })
    }
}

impl std::error::Error for UrlError {}

/// Longest URL accepted (RFC 4467 leaves it open; 8 KiB is far above any
/// real one and bounds the work).
pub const MAX_URL_LEN: usize = 8192;

/// Decodes `%XX` escapes; `None` for a bad escape or non-UTF-8 result.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn nz(s: &str) -> Option<NonZeroU32> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl ImapUrl {
    /// Parses a URL with an `;URLAUTH=` component, with or without its
    /// verifier (GENURLAUTH takes a rump, URLFETCH and BURL a full URL).
    pub fn parse(url: &str) -> Result<ImapUrl, UrlError> {
        let (out, has_auth) = Self::parse_inner(url)?;
        if !has_auth {
            return Err(UrlError::NoUrlAuth);
        }
        Ok(out)
    }

    /// [`ImapUrl::parse`] without requiring `;URLAUTH=`; also says whether
    /// it was there.
    fn parse_inner(url: &str) -> Result<(ImapUrl, bool), UrlError> {
        if url.len() > MAX_URL_LEN || url.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(UrlError::Syntax);
        }
        let rest = url
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("imap://"))
            .map(|_| &url[7..])
            .ok_or(UrlError::Syntax)?;
        let slash = rest.find('/').ok_or(UrlError::Syntax)?;
        let (authority, path) = (&rest[..slash], &rest[slash + 1..]);
        let (user, hostport) = match authority.rfind('@') {
            Some(at) => {
                let info = &authority[..at];
                // `;AUTH=<type>` (RFC 5092 §3.2) says how to log in; it
                // does not change whose mailbox it is.
                let enc_user = match info.find(';') {
                    Some(i) => &info[..i],
                    None => info,
                };
                let user = percent_decode(enc_user).ok_or(UrlError::Syntax)?;
                (Some(user).filter(|u| !u.is_empty()), &authority[at + 1..])
            }
            None => (None, authority),
        };
        let host = match hostport.rsplit_once(':') {
            Some((h, port)) if !port.is_empty() && port.bytes().all(|c| c.is_ascii_digit()) => h,
            _ => hostport,
        };
        if host.is_empty() {
            return Err(UrlError::Syntax);
        }
        let semi = path.find(';').ok_or(UrlError::NoUid)?;
        let mailbox = percent_decode(path[..semi].trim_end_matches('/')).ok_or(UrlError::Syntax)?;
        if mailbox.is_empty() {
            return Err(UrlError::Syntax);
        }
        let mut out = ImapUrl {
            user,
            host: host.to_owned(),
            mailbox,
            uid_validity: None,
            uid: NonZeroU32::MIN,
            section: None,
            partial: None,
            expire: None,
            access: UrlAccess::Anonymous,
            mechanism: None,
            token: None,
            rump: String::new(),
        };
        let mut uid = None;
        let mut access = None;
        // Offsets of each `;name=value` parameter in `path`.
        let params_at = slash + 1 + 7 + semi;
        let mut pos = 0;
        let params = &path[semi..];
        while pos < params.len() {
            let start = pos + 1;
            let end = params[start..]
                .find(';')
                .map_or(params.len(), |i| start + i);
            let param = params[start..end].trim_end_matches('/');
            pos = end;
            let (name, value) = param.split_once('=').ok_or(UrlError::Syntax)?;
            match name.to_ascii_uppercase().as_str() {
                "UIDVALIDITY" => out.uid_validity = Some(nz(value).ok_or(UrlError::Syntax)?),
                "UID" => uid = Some(nz(value).ok_or(UrlError::Syntax)?),
                "SECTION" => {
                    out.section = Some(percent_decode(value).ok_or(UrlError::Syntax)?);
                }
                "PARTIAL" => {
                    let (o, l) = match value.split_once('.') {
                        Some((o, l)) => (o, Some(l)),
                        None => (value, None),
                    };
                    let num = |s: &str| {
                        s.bytes()
                            .all(|c| c.is_ascii_digit())
                            .then(|| s.parse::<u64>().ok())
                            .flatten()
                    };
                    let offset = num(o).ok_or(UrlError::Syntax)?;
                    let len = match l {
                        Some(l) => Some(num(l).filter(|n| *n > 0).ok_or(UrlError::Syntax)?),
                        None => None,
                    };
                    out.partial = Some((offset, len));
                }
                "EXPIRE" => out.expire = Some(value.to_owned()),
                "URLAUTH" => {
                    // The first ':' ends the access identifier: enc-user
                    // escapes its own colons.
                    let (acc, verifier) = match value.split_once(':') {
                        Some((a, v)) => (a, Some(v)),
                        None => (value, None),
                    };
                    let rump_end = params_at + start + name.len() + 1 + acc.len();
                    out.rump = url[..rump_end].to_owned();
                    access = Some(parse_access(acc)?);
                    if let Some(v) = verifier {
                        let (mech, token) = v.split_once(':').ok_or(UrlError::Syntax)?;
                        let mech_ok = !mech.is_empty()
                            && mech
                                .bytes()
                                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.');
                        let token_ok =
                            token.len() >= 32 && token.bytes().all(|c| c.is_ascii_hexdigit());
                        if !mech_ok || !token_ok {
                            return Err(UrlError::Syntax);
                        }
                        out.mechanism = Some(mech.to_owned());
                        out.token = Some(token.to_owned());
                    }
                    if end != params.len() {
                        // URLAUTH is the URL's last component.
                        return Err(UrlError::Syntax);
                    }
                }
                _ => return Err(UrlError::Syntax),
            }
        }
        out.uid = uid.ok_or(UrlError::NoUid)?;
        let has_auth = access.is_some();
        out.access = access.unwrap_or(UrlAccess::Anonymous);
        Ok((out, has_auth))
    }

    /// The mailbox owner as a login: the URL's user, or `user@host` when
    /// the user has no `@` of its own (a server whose logins are
    /// addresses: `imap://fred@example.com/` is `fred@example.com`'s).
    pub fn owner(&self) -> Option<String> {
        self.user.as_deref().map(|u| qualify(u, &self.host))
    }

    /// Whether the access identifier's user (`user+fred`, `submit+fred`)
    /// names `login`, read as [`ImapUrl::owner`] reads the URL's user.
    pub fn access_names(&self, user: &str, login: &str) -> bool {
        user.eq_ignore_ascii_case(login) || qualify(user, &self.host).eq_ignore_ascii_case(login)
    }

    /// Whether `id` (the URL's iuserinfo, or the user of a `user+` /
    /// `submit+` access identifier, RFC 4467 §3) names `login`: equal
    /// ignoring ASCII case, or `id "@" host` is (the same rule as
    /// [`owner`](Self::owner)).
    pub fn names_login(&self, id: &str, login: &str) -> bool {
        if id.eq_ignore_ascii_case(login) {
            return true;
        }
        !id.contains('@')
            && login.len() == id.len() + 1 + self.host.len()
            && login
                .get(..id.len())
                .is_some_and(|l| l.eq_ignore_ascii_case(id))
            && login.as_bytes().get(id.len()) == Some(&b'@')
            && login
                .get(id.len() + 1..)
                .is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
    }

    /// The rump with a verifier: `<rump>:<mechanism>:<token>` (RFC 4467
    /// §6.1's GENURLAUTH answer; the mechanism in lower case as in its
    /// examples).
    pub fn authorized(rump: &str, mechanism: &str, token: &str) -> String {
        format!("{rump}:{}:{token}", mechanism.to_ascii_lowercase())
    }
}

/// `user`, or `user@host` when it has no `@`.
fn qualify(user: &str, host: &str) -> String {
    if user.contains('@') {
        user.to_owned()
    } else {
        format!("{user}@{host}")
    }
}

/// An IMAP URL naming one message or a part of it (RFC 5092 §3
/// `imessagepart`), absolute (`imap://user@host/...`) or relative to this
/// server (`/mailbox;UIDVALIDITY=n/;UID=n/;SECTION=1.2`, RFC 5092 §7.2),
/// as CATENATE's `URL` parts use them (RFC 4469 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageUrl {
    /// The owner named in an absolute URL, as a login (see
    /// [`ImapUrl::owner`]).
    pub user: Option<String>,
    /// The mailbox name (percent-decoded UTF-8).
    pub mailbox: String,
    /// `;UIDVALIDITY=`: must match the mailbox's.
    pub uid_validity: Option<NonZeroU32>,
    /// `;UID=`.
    pub uid: NonZeroU32,
    /// `;SECTION=` (percent-decoded).
    pub section: Option<String>,
    /// `;PARTIAL=offset[.length]`.
    pub partial: Option<(u64, Option<u64>)>,
    /// The full URL when it carries `;URLAUTH=` (RFC 4467): it must then
    /// be verified as such.
    pub urlauth: Option<ImapUrl>,
}

impl MessageUrl {
    /// Parses an absolute or server-relative message URL.
    pub fn parse(url: &str) -> Result<MessageUrl, UrlError> {
        let absolute = url
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("imap://"));
        let (u, has_auth) = if absolute {
            ImapUrl::parse_inner(url)?
        } else if url.starts_with('/') && !url.starts_with("//") {
            // The host is this server's: any placeholder parses the path.
            let (u, auth) = ImapUrl::parse_inner(&format!("imap://localhost{url}"))?;
            if auth {
                // RFC 4467 §3: an authorized URL is absolute.
                return Err(UrlError::Syntax);
            }
            (u, false)
        } else {
            return Err(UrlError::Syntax);
        };
        Ok(MessageUrl {
            user: if absolute { u.owner() } else { None },
            mailbox: u.mailbox.clone(),
            uid_validity: u.uid_validity,
            uid: u.uid,
            section: u.section.clone(),
            partial: u.partial,
            urlauth: has_auth.then_some(u),
        })
    }

    /// The `;SECTION=` as an IMAP section (RFC 5092 §3 `enc-section` is
    /// RFC 3501 `section-text` or `section-part ["." section-text]`);
    /// `Ok(None)` for the whole message.
    ///
    /// # Errors
    /// [`UrlError::Syntax`] for a section that is not one.
    pub fn section_spec(&self) -> Result<Option<crate::command::Section>, UrlError> {
        match &self.section {
            None => Ok(None),
            Some(s) => crate::command::Section::parse_spec(s.as_bytes())
                .map(Some)
                .ok_or(UrlError::Syntax),
        }
    }
}

/// `access = ("submit+" enc-user) / ("user+" enc-user) / "authuser" / "anonymous"`
fn parse_access(s: &str) -> Result<UrlAccess, UrlError> {
    let lower = s.to_ascii_lowercase();
    let user = |prefix: usize| {
        percent_decode(&s[prefix..])
            .filter(|u| !u.is_empty())
            .ok_or(UrlError::BadAccess)
    };
    if lower.starts_with("submit+") {
        Ok(UrlAccess::Submit(user(7)?))
    } else if lower.starts_with("user+") {
        Ok(UrlAccess::User(user(5)?))
    } else if lower == "authuser" {
        Ok(UrlAccess::AuthUser)
    } else if lower == "anonymous" {
        Ok(UrlAccess::Anonymous)
    } else {
        Err(UrlError::BadAccess)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4467_examples() {
        let u =
            ImapUrl::parse("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred")
                .unwrap();
        assert_eq!(u.user.as_deref(), Some("joe"));
        assert_eq!(u.host, "example.com");
        assert_eq!(u.mailbox, "INBOX");
        assert_eq!(u.uid.get(), 20);
        assert_eq!(u.section.as_deref(), Some("1.2"));
        assert_eq!(u.access, UrlAccess::Submit("fred".into()));
        assert_eq!(u.token, None);
        assert_eq!(
            u.rump,
            "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"
        );
        let full = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=anonymous:internal:91354a473744909de610943775f92038";
        let u = ImapUrl::parse(full).unwrap();
        assert_eq!(u.access, UrlAccess::Anonymous);
        assert_eq!(u.mechanism.as_deref(), Some("internal"));
        assert_eq!(u.token.as_deref(), Some("91354a473744909de610943775f92038"));
        assert_eq!(
            u.rump,
            "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=anonymous"
        );
        assert_eq!(
            ImapUrl::authorized(&u.rump, "INTERNAL", "91354a473744909de610943775f92038"),
            full
        );
    }

    #[test]
    fn addresses_validity_expire_and_partial() {
        let u = ImapUrl::parse(
            "IMAP://alice%40localhost@localhost:2143/Sent%20Items;UIDVALIDITY=1700000000/;UID=3/;PARTIAL=0.100;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=user+alice%40localhost",
        )
        .unwrap();
        assert_eq!(u.user.as_deref(), Some("alice@localhost"));
        assert_eq!(u.host, "localhost");
        assert_eq!(u.mailbox, "Sent Items");
        assert_eq!(u.uid_validity.map(|v| v.get()), Some(1_700_000_000));
        assert_eq!(u.partial, Some((0, Some(100))));
        assert_eq!(u.expire.as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(u.access, UrlAccess::User("alice@localhost".into()));
        // An unescaped '@' in the user (logins are addresses).
        let u =
            ImapUrl::parse("imap://bob@localhost@localhost/INBOX;UID=1;URLAUTH=authuser").unwrap();
        assert_eq!(u.user.as_deref(), Some("bob@localhost"));
        assert_eq!(u.access, UrlAccess::AuthUser);
    }

    /// RFC 5092 §3.2: iuserinfo is the user name on the server; with
    /// logins that are addresses, `testuser@localhost` and
    /// `testuser%40localhost@localhost` both name the login
    /// `testuser@localhost`, and nobody else.
    #[test]
    fn owner_and_login_forms() {
        let login = "testuser@localhost";
        for url in [
            "imap://testuser@localhost/INBOX/;uid=1;urlauth=user+testuser@localhost",
            "imap://testuser%40localhost@localhost/INBOX/;uid=1;urlauth=user+testuser%40localhost",
            "imap://TestUser@LocalHost:143/INBOX/;uid=1;urlauth=user+testuser",
        ] {
            let u = ImapUrl::parse(url).unwrap();
            let user = u.user.clone().unwrap();
            assert!(u.owner().unwrap().eq_ignore_ascii_case(login), "{url}");
            assert!(u.names_login(&user, login), "{url}");
            let UrlAccess::User(id) = &u.access else {
                panic!("{url}: {:?}", u.access)
            };
            assert!(u.names_login(id, login), "{url}");
            for other in [
                "other@localhost",
                "testuser@elsewhere",
                "testuser@localhostx",
            ] {
                assert!(!u.names_login(&user, other), "{url} {other}");
                assert!(!u.names_login(id, other), "{url} {other}");
            }
        }
        let u = ImapUrl::parse("imap://other%40localhost@localhost/INBOX/;uid=1;urlauth=anonymous")
            .unwrap();
        assert_eq!(u.owner().as_deref(), Some("other@localhost"));
        assert!(!u.names_login("other@localhost", login));
        let u = ImapUrl::parse("imap://localhost/INBOX/;uid=1;urlauth=anonymous").unwrap();
        assert_eq!(u.owner(), None);
    }

    /// Peer input: every prefix of a full URL, and every octet of it
    /// replaced by each delimiter, parses or is refused, never panics
    /// (the parser slices by offsets it found).
    #[test]
    fn damaged_urls_never_panic() {
        let full = "imap://joe;AUTH=*@example.com:143/INBOX;UIDVALIDITY=785799047/;UID=113330;\
                    SECTION=1.5.9;PARTIAL=0.1024;EXPIRE=2030-01-01T00:00:00Z;\
                    URLAUTH=submit+fred:internal:91354a473744909de610943775f92038";
        for n in 0..=full.len() {
            let _ = ImapUrl::parse(&full[..n]);
        }
        for i in 0..full.len() {
            for d in [";", ":", "/", "@", "=", ".", "%", "+", "%4", ";;", "=="] {
                let mut m = String::from(&full[..i]);
                m.push_str(d);
                m.push_str(&full[i + 1..]);
                let _ = ImapUrl::parse(&m);
                m.truncate(i + d.len());
                let _ = ImapUrl::parse(&m);
            }
        }
    }

    /// RFC 5092 §7.2 relative URLs and absolute ones, as CATENATE takes
    /// them (RFC 4469 §3's examples); the user of an absolute URL is
    /// qualified with its host when it has no `@`.
    #[test]
    fn message_urls() {
        let u = MessageUrl::parse("/Drafts;UIDVALIDITY=385759045/;UID=20/;SECTION=1.MIME").unwrap();
        assert_eq!(u.user, None);
        assert_eq!(u.mailbox, "Drafts");
        assert_eq!(u.uid_validity.map(NonZeroU32::get), Some(385_759_045));
        assert_eq!(u.uid.get(), 20);
        assert_eq!(
            u.section_spec().unwrap(),
            Some(crate::command::Section::Mime(
                crate::command::Part::new(vec![NonZeroU32::MIN]).unwrap()
            ))
        );
        assert!(u.urlauth.is_none());
        let u = MessageUrl::parse("imap://fred@example.com/INBOX/;UID=3/;PARTIAL=100.20").unwrap();
        assert_eq!(u.user.as_deref(), Some("fred@example.com"));
        assert_eq!(u.partial, Some((100, Some(20))));
        assert_eq!(u.section_spec().unwrap(), None);
        let u =
            MessageUrl::parse("/INBOX/;UID=2/;SECTION=HEADER.FIELDS%20(Subject%20From)").unwrap();
        assert!(matches!(
            u.section_spec().unwrap(),
            Some(crate::command::Section::HeaderFields { not: false, .. })
        ));
        let full = "imap://joe@example.com/INBOX/;uid=20;urlauth=anonymous:internal:91354a473744909de610943775f92038";
        assert!(MessageUrl::parse(full).unwrap().urlauth.is_some());
        for bad in [
            "INBOX/;UID=1",
            "//host/INBOX/;UID=1",
            "/INBOX",
            "/INBOX/;UID=0",
            "/INBOX/;UID=1;URLAUTH=anonymous",
            "http://x/INBOX/;UID=1",
        ] {
            assert!(MessageUrl::parse(bad).is_err(), "{bad}");
        }
        let u = MessageUrl::parse("/INBOX/;UID=1/;SECTION=NOPE").unwrap();
        assert_eq!(u.section_spec(), Err(UrlError::Syntax));
    }

    #[test]
    fn refusals() {
        let cases: &[(&str, UrlError)] = &[
            ("http://x/INBOX/;UID=1;URLAUTH=anonymous", UrlError::Syntax),
            ("imap://x/INBOX", UrlError::NoUid),
            ("imap://x/INBOX/;UID=1", UrlError::NoUrlAuth),
            ("imap://x/INBOX/;UID=0;URLAUTH=anonymous", UrlError::Syntax),
            (
                "imap://x/INBOX/;UID=1;URLAUTH=everyone",
                UrlError::BadAccess,
            ),
            ("imap://x/INBOX/;UID=1;URLAUTH=submit+", UrlError::BadAccess),
            (
                "imap://x/INBOX/;UID=1;URLAUTH=anonymous:internal:12",
                UrlError::Syntax,
            ),
            (
                "imap://x/INBOX/;UID=1;URLAUTH=anonymous;UID=2",
                UrlError::Syntax,
            ),
            (
                "imap://x/INBOX/;UID=1;FOO=2;URLAUTH=anonymous",
                UrlError::Syntax,
            ),
            ("imap://x/IN BOX/;UID=1;URLAUTH=anonymous", UrlError::Syntax),
            ("imap://x/%ZZ/;UID=1;URLAUTH=anonymous", UrlError::Syntax),
            ("imap:///INBOX/;UID=1;URLAUTH=anonymous", UrlError::Syntax),
        ];
        for (url, want) in cases {
            assert_eq!(ImapUrl::parse(url), Err(*want), "{url}");
        }
        assert_eq!(
            ImapUrl::parse(&format!("imap://x/{}", "a".repeat(MAX_URL_LEN))),
            Err(UrlError::Syntax)
        );
    }
}
