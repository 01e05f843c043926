//! The command grammar (RFC 9051 §9, RFC 3501 §9 and the extensions).

use super::fetch::{fetch_attributes, fetch_modifier};
use super::options::{
    list_select_option, return_option, search_return_opt, select_param, status_att,
};
use super::search::{charset, search_key};
use super::sort::{sort_criterion, thread_alg};
use super::{AppendData, AuthenticateData, Command, CommandBody, StoreAction};
use crate::core::{
    PResult, base64, crlf, fail, keyword, mod_sequence_valzer, nil, number64, paren_list0,
    paren_list1, sp, sp_list1, upper_atom,
};
use crate::types::{
    Secret, astring, atom, capability, date_time, flag, flag_list, list_mailbox, literal, literal8,
    mailbox, mbx_list_flag, nstring, sequence_set, string, tag_imap,
};
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case};
use nom::combinator::{map, opt};

/// `command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF`
pub(crate) fn command(i: &[u8], depth: usize) -> PResult<'_, Command> {
    let (r, tag) = tag_imap(i)?;
    let (r, _) = sp(r)?;
    let (r, body) = command_body(r, depth)?;
    let (r, _) = crlf(r)?;
    Ok((r, Command { tag, body }))
}

fn command_body(i: &[u8], depth: usize) -> PResult<'_, CommandBody> {
    let (r, n) = upper_atom(i)?;
    let simple = match n.as_bytes() {
        b"CAPABILITY" => Some(CommandBody::Capability),
        b"NOOP" => Some(CommandBody::Noop),
        b"LOGOUT" => Some(CommandBody::Logout),
        b"STARTTLS" => Some(CommandBody::StartTls),
        b"NAMESPACE" => Some(CommandBody::Namespace),
        b"IDLE" => Some(CommandBody::Idle),
        b"CHECK" => Some(CommandBody::Check),
        b"CLOSE" => Some(CommandBody::Close),
        b"UNSELECT" => Some(CommandBody::Unselect),
        b"EXPUNGE" => Some(CommandBody::Expunge),
        _ => None,
    };
    if let Some(b) = simple {
        return Ok((r, b));
    }
    if n.as_bytes() == b"RESETKEY" {
        return super::urlauth::resetkey(r);
    }
    let (r, _) = sp(r)?;
    match n.as_bytes() {
        b"AUTHENTICATE" => authenticate(r),
        b"LOGIN" => {
            let (r, (username, _, password)) =
                (crate::types::astring, sp, crate::types::astring).parse(r)?;
            Ok((
                r,
                CommandBody::Login {
                    username,
                    password: Secret::new(password),
                },
            ))
        }
        b"ENABLE" => map(sp_list1(capability), |capabilities| CommandBody::Enable {
            capabilities,
        })
        .parse(r),
        b"SELECT" | b"EXAMINE" => {
            let (r, mailbox) = mailbox(r)?;
            let (r, parameters) = opt(map((sp, paren_list1(select_param)), |(_, v)| v)).parse(r)?;
            let parameters = parameters.unwrap_or_default();
            Ok((
                r,
                if n.as_bytes() == b"SELECT" {
                    CommandBody::Select {
                        mailbox,
                        parameters,
                    }
                } else {
                    CommandBody::Examine {
                        mailbox,
                        parameters,
                    }
                },
            ))
        }
        b"CREATE" => {
            let (r, mailbox) = mailbox(r)?;
            let (r, special_use) = opt(create_params).parse(r)?;
            Ok((
                r,
                CommandBody::Create {
                    mailbox,
                    special_use,
                },
            ))
        }
        b"DELETE" => map(mailbox, |mailbox| CommandBody::Delete { mailbox }).parse(r),
        b"SUBSCRIBE" => map(mailbox, |mailbox| CommandBody::Subscribe { mailbox }).parse(r),
        b"UNSUBSCRIBE" => map(mailbox, |mailbox| CommandBody::Unsubscribe { mailbox }).parse(r),
        b"RENAME" => map((mailbox, sp, mailbox), |(from, _, to)| {
            CommandBody::Rename { from, to }
        })
        .parse(r),
        b"LIST" => list(r, depth),
        b"LSUB" => map((mailbox, sp, list_mailbox), |(reference, _, pattern)| {
            CommandBody::Lsub { reference, pattern }
        })
        .parse(r),
        b"STATUS" => map(
            (mailbox, sp, paren_list1(status_att)),
            |(mailbox, _, attributes)| CommandBody::Status {
                mailbox,
                attributes,
            },
        )
        .parse(r),
        b"APPEND" => append(r),
        b"SEARCH" => search(r, false, depth),
        b"SORT" => sort(r, false, depth),
        // command-auth =/ notify (RFC 5465 §8)
        b"NOTIFY" => map(super::notify::notify_args, CommandBody::Notify).parse(r),
        // command-select =/ "CANCELUPDATE" 1*(SP quoted) (RFC 5267 §5)
        b"CANCELUPDATE" => map(sp_list1(crate::types::quoted), |tags| {
            CommandBody::CancelUpdate { tags }
        })
        .parse(r),
        b"THREAD" => thread(r, false, depth),
        b"FETCH" => fetch(r, false),
        b"STORE" => store(r, false),
        b"COPY" => copy_move(r, false, false),
        b"MOVE" => copy_move(r, false, true),
        b"UID" => uid(r, depth),
        b"ID" => map(id_params_list, |parameters| CommandBody::Id { parameters }).parse(r),
        b"COMPRESS" => super::compress::compress(r),
        b"GENURLAUTH" => super::urlauth::genurlauth(r),
        b"URLFETCH" => super::urlauth::urlfetch(r),
        // getquota = "GETQUOTA" SP quota-root-name (RFC 9208 §9)
        b"GETQUOTA" => map(astring, |root| CommandBody::GetQuota { root }).parse(r),
        // getquotaroot = "GETQUOTAROOT" SP mailbox
        b"GETQUOTAROOT" => map(mailbox, |mailbox| CommandBody::GetQuotaRoot { mailbox }).parse(r),
        // setquota = "SETQUOTA" SP quota-root-name SP setquota-list;
        // setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")";
        // setquota-resource = resource-name SP resource-limit
        b"SETQUOTA" => map(
            (
                astring,
                sp,
                paren_list0(map((atom, sp, number64), |(n, _, l)| (n, l))),
            ),
            |(root, _, limits)| CommandBody::SetQuota { root, limits },
        )
        .parse(r),
        _ => Err(fail(i)),
    }
}

/// `authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]`;
/// `initial-resp = (base64 / "=")` (RFC 4959)
fn authenticate(i: &[u8]) -> PResult<'_, CommandBody> {
    let (r, mechanism) = atom(i)?;
    let (r, ir) = opt(map(
        (sp, alt((map(tag(&b"="[..]), |_| Vec::new()), base64))),
        |(_, v)| Secret::new(v),
    ))
    .parse(r)?;
    Ok((
        r,
        CommandBody::Authenticate {
            mechanism,
            initial_response: ir,
        },
    ))
}

/// `create-param = "USE" SP "(" [use-attr *(SP use-attr)] ")"` inside
/// `SP "(" create-param ")"` (RFC 6154 §6)
fn create_params(i: &[u8]) -> PResult<'_, Vec<crate::types::MailboxAttribute>> {
    let (r, _) = sp(i)?;
    let (r, _) = tag(&b"("[..]).parse(r)?;
    let (r, _) = keyword("USE")(r)?;
    let (r, _) = sp(r)?;
    let (r, attrs) = paren_list0(mbx_list_flag)(r)?;
    let (r, _) = tag(&b")"[..]).parse(r)?;
    Ok((r, attrs))
}

/// `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`
fn list(i: &[u8], depth: usize) -> PResult<'_, CommandBody> {
    let (r, selection) = opt(map(
        (paren_list0(|x| list_select_option(x, depth)), sp),
        |(v, _)| v,
    ))
    .parse(i)?;
    let (r, reference) = mailbox(r)?;
    let (r, _) = sp(r)?;
    let (r, patterns) =
        alt((paren_list1(list_mailbox), map(list_mailbox, |p| vec![p]))).parse(r)?;
    let (r, return_options) = opt(map(
        (
            sp,
            keyword("RETURN"),
            sp,
            paren_list0(|x| return_option(x, depth)),
        ),
        |(_, _, _, v)| v,
    ))
    .parse(r)?;
    Ok((
        r,
        CommandBody::List {
            selection,
            reference,
            patterns,
            return_options,
        },
    ))
}

/// `append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP append-data`;
/// `append-data = literal / literal8 / utf8-literal` (RFC 3516, RFC 6855 §4);
/// `utf8-literal = "UTF8" SP "(" literal8 ")"`
fn append(i: &[u8]) -> PResult<'_, CommandBody> {
    let (r, mailbox) = mailbox(i)?;
    let (r, _) = sp(r)?;
    let (r, flags) = opt(map((flag_list, sp), |(f, _)| f)).parse(r)?;
    let (r, date) = opt(map((date_time, sp), |(d, _)| d)).parse(r)?;
    let (r, message) = alt((
        map(literal, |literal| AppendData {
            literal,
            binary: false,
            utf8: false,
        }),
        map(literal8, |literal| AppendData {
            literal,
            binary: true,
            utf8: false,
        }),
        map(
            (tag_no_case(&b"UTF8 ("[..]), literal8, tag(&b")"[..])),
            |(_, literal, _)| AppendData {
                literal,
                binary: true,
                utf8: true,
            },
        ),
    ))
    .parse(r)?;
    Ok((
        r,
        CommandBody::Append {
            mailbox,
            flags,
            date,
            message,
        },
    ))
}

/// `search = "SEARCH" [search-return-opts] SP search-program`;
/// `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)`
fn search(i: &[u8], uid: bool, depth: usize) -> PResult<'_, CommandBody> {
    let (r, return_options) = opt(map(
        (
            keyword("RETURN"),
            sp,
            paren_list0(|x| search_return_opt(x, depth)),
            sp,
        ),
        |(_, _, v, _)| v,
    ))
    .parse(i)?;
    let (r, charset) =
        opt(map((keyword("CHARSET"), sp, charset, sp), |(_, _, c, _)| c)).parse(r)?;
    let (r, criteria) = sp_list1(|x| search_key(x, depth))(r)?;
    Ok((
        r,
        CommandBody::Search {
            uid,
            return_options,
            charset,
            criteria,
        },
    ))
}

/// `sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria`;
/// `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`;
/// `search-criteria = charset 1*(SP search-key)` (RFC 5256 §4)
///
/// `extended-sort = ["UID" SP] "SORT" search-return-opts SP sort-criteria SP
/// search-criteria` (RFC 5267 §5)
fn sort(i: &[u8], uid: bool, depth: usize) -> PResult<'_, CommandBody> {
    let (i, return_options) = opt(map(
        (
            keyword("RETURN"),
            sp,
            paren_list0(|x| search_return_opt(x, depth)),
            sp,
        ),
        |(_, _, v, _)| v,
    ))
    .parse(i)?;
    let (r, (criteria, _, charset, _, search)) = (
        paren_list1(sort_criterion),
        sp,
        charset,
        sp,
        sp_list1(|x| search_key(x, depth)),
    )
        .parse(i)?;
    Ok((
        r,
        CommandBody::Sort {
            uid,
            return_options,
            criteria,
            charset,
            search,
        },
    ))
}

/// `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`
/// (RFC 5256 §4)
fn thread(i: &[u8], uid: bool, depth: usize) -> PResult<'_, CommandBody> {
    let (r, (algorithm, _, charset, _, search)) = (
        thread_alg,
        sp,
        charset,
        sp,
        sp_list1(|x| search_key(x, depth)),
    )
        .parse(i)?;
    Ok((
        r,
        CommandBody::Thread {
            uid,
            algorithm,
            charset,
            search,
        },
    ))
}

/// `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]`
fn fetch(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (r, sequence_set) = sequence_set(i)?;
    let (r, _) = sp(r)?;
    let (r, attributes) = fetch_attributes(r)?;
    let (r, modifiers) = opt(map((sp, paren_list1(fetch_modifier)), |(_, v)| v)).parse(r)?;
    Ok((
        r,
        CommandBody::Fetch {
            uid,
            sequence_set,
            attributes,
            modifiers: modifiers.unwrap_or_default(),
        },
    ))
}

/// `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`;
/// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`
fn store(i: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (r, sequence_set) = sequence_set(i)?;
    let (r, unchanged_since) = opt(map(
        (
            sp,
            tag(&b"("[..]),
            keyword("UNCHANGEDSINCE"),
            sp,
            mod_sequence_valzer,
            tag(&b")"[..]),
        ),
        |(_, _, _, _, n, _)| n,
    ))
    .parse(r)?;
    let (r, _) = sp(r)?;
    let (r, action) = alt((
        map(tag(&b"+"[..]), |_| StoreAction::Add),
        map(tag(&b"-"[..]), |_| StoreAction::Remove),
        map(tag(&b""[..]), |_| StoreAction::Replace),
    ))
    .parse(r)?;
    let (r, _) = tag_no_case(&b"FLAGS"[..]).parse(r)?;
    let (r, silent) = opt(tag_no_case(&b".SILENT"[..])).parse(r)?;
    let (r, _) = sp(r)?;
    let (r, flags) = alt((flag_list, sp_list1(flag))).parse(r)?;
    Ok((
        r,
        CommandBody::Store {
            uid,
            sequence_set,
            unchanged_since,
            action,
            silent: silent.is_some(),
            flags,
        },
    ))
}

/// `copy = "COPY" SP sequence-set SP mailbox`; `move = "MOVE" SP sequence-set SP mailbox`
fn copy_move(i: &[u8], uid: bool, is_move: bool) -> PResult<'_, CommandBody> {
    let (r, (sequence_set, _, mailbox)) = (sequence_set, sp, mailbox).parse(i)?;
    Ok((
        r,
        if is_move {
            CommandBody::Move {
                uid,
                sequence_set,
                mailbox,
            }
        } else {
            CommandBody::Copy {
                uid,
                sequence_set,
                mailbox,
            }
        },
    ))
}

/// `uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)`
fn uid(i: &[u8], depth: usize) -> PResult<'_, CommandBody> {
    let (r, name) = upper_atom(i)?;
    let (r, _) = sp(r)?;
    match name.as_bytes() {
        b"COPY" => copy_move(r, true, false),
        b"MOVE" => copy_move(r, true, true),
        b"FETCH" => fetch(r, true),
        b"SEARCH" => search(r, true, depth),
        b"SORT" => sort(r, true, depth),
        b"THREAD" => thread(r, true, depth),
        b"STORE" => store(r, true),
        b"EXPUNGE" => map(sequence_set, |sequence_set| CommandBody::UidExpunge {
            sequence_set,
        })
        .parse(r),
        _ => Err(fail(i)),
    }
}

/// `id_params_list ::= "(" #(string SP nstring) ")" / nil` (RFC 2971 §4)
pub(crate) fn id_params_list(
    i: &[u8],
) -> PResult<'_, Option<Vec<(crate::types::IString, crate::types::NString)>>> {
    alt((
        map(nil, |_| None),
        map(
            paren_list0(map((string, sp, nstring), |(k, _, v)| (k, v))),
            Some,
        ),
    ))
    .parse(i)
}

/// `authenticate` client data: `base64 CRLF` or `"*" CRLF` (RFC 9051 §6.2.2)
pub(crate) fn authenticate_data(i: &[u8]) -> PResult<'_, AuthenticateData> {
    let (r, d) = alt((
        map(tag(&b"*"[..]), |_| AuthenticateData::Cancel),
        map(base64, |v| AuthenticateData::Continue(Secret::new(v))),
        // An empty response is an empty line (RFC 4422 §5 via RFC 9051 §6.2.2).
        map(tag(&b""[..]), |_| {
            AuthenticateData::Continue(Secret::new(Vec::new()))
        }),
    ))
    .parse(i)?;
    let (r, _) = crlf(r)?;
    Ok((r, d))
}

/// The part of `append` up to the message literal's announcement:
/// `tag SP "APPEND" SP mailbox [SP flag-list] [SP date-time] SP ["UTF8 ("] ["~"] "{" number64 ["+"] "}" CRLF`
pub(crate) fn append_head(i: &[u8]) -> PResult<'_, super::AppendHead> {
    let (r, command_tag) = tag_imap(i)?;
    let (r, _) = sp(r)?;
    let (r, _) = keyword("APPEND")(r)?;
    let (r, _) = sp(r)?;
    let (r, mailbox) = mailbox(r)?;
    let (r, _) = sp(r)?;
    let (r, flags) = opt(map((flag_list, sp), |(f, _)| f)).parse(r)?;
    let (r, date) = opt(map((date_time, sp), |(d, _)| d)).parse(r)?;
    // RFC 6855 §4: `utf8-literal = "UTF8" SP "(" literal8 ")"`.
    let (r, utf8) = opt(tag_no_case(&b"UTF8 ("[..])).parse(r)?;
    let (r, binary) = opt(tag(&b"~"[..])).parse(r)?;
    if utf8.is_some() && binary.is_none() {
        return Err(fail(r));
    }
    let (r, _) = tag(&b"{"[..]).parse(r)?;
    let (r, size) = crate::core::number64(r)?;
    let (r, plus) = opt(tag(&b"+"[..])).parse(r)?;
    let (r, _) = tag(&b"}"[..]).parse(r)?;
    let (r, _) = crlf(r)?;
    let mode = if plus.is_some() {
        crate::types::LiteralMode::NonSync
    } else {
        crate::types::LiteralMode::Sync
    };
    Ok((
        r,
        super::AppendHead {
            tag: command_tag,
            mailbox,
            flags,
            date,
            size,
            binary: binary.is_some(),
            utf8: utf8.is_some(),
            mode,
        },
    ))
}
