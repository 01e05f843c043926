//! The response grammar (RFC 9051 §9 `response`, RFC 3501 §9).

use super::code::resp_text_code;
use super::fetch::msg_att_list;
use super::{
    Condition, Continue, Data, Delimiter, ESearchItem, ListItem, NamespaceDescr, RespText,
    Response, Status, StatusItem, Text,
};
use crate::command::{id_params_list, tagged_ext_value};
use crate::core::{
    PResult, crlf, fail, keyword, mod_sequence_value, nil, number, number64, nz_number,
    paren_list0, paren_list1, sp, sp_list1, text,
};
use crate::types::{
    astring, capability, flag_list, mailbox, mbx_list_flag, quoted, sequence_set, string, tag_imap,
};
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case};
use nom::combinator::{map, opt};

/// `response = continue-req / response-data / response-tagged` (one of them)
pub(crate) fn response(i: &[u8], depth: usize) -> PResult<'_, Response> {
    if let Some(r) = i.strip_prefix(b"+") {
        return continue_req(r);
    }
    if let Some(r) = i.strip_prefix(b"* ") {
        let (r, resp) = response_data(r, depth)?;
        let (r, _) = crlf(r)?;
        return Ok((r, resp));
    }
    let (r, tag) = tag_imap(i)?;
    let (r, _) = sp(r)?;
    let (r, (condition, text)) = resp_cond_state(r)?;
    let (r, _) = crlf(r)?;
    Ok((
        r,
        Response::Status(Status::Tagged {
            tag,
            condition,
            text,
        }),
    ))
}

/// `continue-req = "+" SP (resp-text / base64) CRLF` (the SP is optional
/// here: several servers send a bare `+`)
fn continue_req(i: &[u8]) -> PResult<'_, Response> {
    let (r, t) = match i.strip_prefix(b" ") {
        Some(r) => resp_text(r)?,
        None => (i, RespText::default()),
    };
    let (r, _) = crlf(r)?;
    Ok((r, Response::Continue(Continue(t))))
}

/// `resp-text = ["[" resp-text-code "]" SP] [text]`
pub(crate) fn resp_text(i: &[u8]) -> PResult<'_, RespText> {
    if let Some(r) = i.strip_prefix(b"[")
        && let Ok((r2, code)) = resp_text_code(r)
        && let Some(r3) = r2.strip_prefix(b"]")
    {
        let r4 = r3.strip_prefix(b" ").unwrap_or(r3);
        let (r5, t) = text(r4)?;
        return Ok((
            r5,
            RespText {
                code: Some(code),
                text: Text(t),
            },
        ));
    }
    let (r, t) = text(i)?;
    if t.starts_with('[') {
        return Err(fail(i));
    }
    Ok((
        r,
        RespText {
            code: None,
            text: Text(t),
        },
    ))
}

/// `resp-cond-state = ("OK" / "NO" / "BAD") SP resp-text`
fn resp_cond_state(i: &[u8]) -> PResult<'_, (Condition, RespText)> {
    let (r, c) = alt((
        map(keyword("OK"), |_| Condition::Ok),
        map(keyword("NO"), |_| Condition::No),
        map(keyword("BAD"), |_| Condition::Bad),
    ))
    .parse(i)?;
    let (r, t) = match r.strip_prefix(b" ") {
        Some(r) => resp_text(r)?,
        None => (r, RespText::default()),
    };
    Ok((r, (c, t)))
}

/// `response-data = "*" SP (resp-cond-state / resp-cond-bye / mailbox-data / message-data / capability-data / enable-data) CRLF`
fn response_data(i: &[u8], depth: usize) -> PResult<'_, Response> {
    if let Ok((r, (condition, text))) = resp_cond_state(i) {
        return Ok((r, Response::Status(Status::Untagged { condition, text })));
    }
    for (kw, bye) in [("BYE", true), ("PREAUTH", false)] {
        if let Ok((r, _)) = keyword(kw)(i) {
            let (r, t) = match r.strip_prefix(b" ") {
                Some(r) => resp_text(r)?,
                None => (r, RespText::default()),
            };
            let s = if bye {
                Status::Bye(t)
            } else {
                Status::PreAuth(t)
            };
            return Ok((r, Response::Status(s)));
        }
    }
    if i.first().is_some_and(|b| b.is_ascii_digit()) {
        return map(|x| message_data(x, depth), Response::Data).parse(i);
    }
    map(|x| mailbox_data(x, depth), Response::Data).parse(i)
}

/// `message-data = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))` and
/// `number SP "EXISTS"` / `number SP "RECENT"`
fn message_data(i: &[u8], depth: usize) -> PResult<'_, Data> {
    let (r, n) = number(i)?;
    let (r, _) = sp(r)?;
    if let Ok((r, _)) = keyword("EXISTS")(r) {
        return Ok((r, Data::Exists(n)));
    }
    if let Ok((r, _)) = keyword("RECENT")(r) {
        return Ok((r, Data::Recent(n)));
    }
    let seq = std::num::NonZeroU32::new(n).ok_or_else(|| fail(i))?;
    if let Ok((r, _)) = keyword("EXPUNGE")(r) {
        return Ok((r, Data::Expunge(seq)));
    }
    let (r, _) = keyword("FETCH")(r)?;
    let (r, _) = sp(r)?;
    let (r, items) = msg_att_list(r, depth)?;
    Ok((r, Data::Fetch { seq, items }))
}

/// Delimiter: `DQUOTE QUOTED-CHAR DQUOTE / nil`
fn delimiter(i: &[u8]) -> PResult<'_, Option<Delimiter>> {
    if let Ok((r, _)) = nil(i) {
        return Ok((r, None));
    }
    let (r, q) = quoted(i)?;
    let mut chars = q.as_str().chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok((r, Delimiter::new(c))),
        _ => Err(fail(i)),
    }
}

/// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox [SP mbox-list-extended]`
fn mailbox_list(i: &[u8], depth: usize) -> PResult<'_, ListItem> {
    let (r, attributes) = paren_list0(mbx_list_flag)(i)?;
    let (r, (_, delimiter, _, mailbox)) = (sp, delimiter, sp, mailbox).parse(r)?;
    let (r, extended) = opt(map(
        (
            sp,
            paren_list0(map(
                (astring, sp, |x| tagged_ext_value(x, depth)),
                |(t, _, v)| (t, v),
            )),
        ),
        |(_, v)| v,
    ))
    .parse(r)?;
    Ok((
        r,
        ListItem {
            attributes,
            delimiter,
            mailbox,
            extended: extended.unwrap_or_default(),
        },
    ))
}

/// `status-att-val`
fn status_att_val(i: &[u8]) -> PResult<'_, StatusItem> {
    let (r, name) = crate::command::status_att(i)?;
    let (r, _) = sp(r)?;
    use crate::command::StatusAttribute as A;
    match name {
        A::Messages => map(number, StatusItem::Messages).parse(r),
        A::Recent => map(number, StatusItem::Recent).parse(r),
        A::UidNext => map(nz_number, StatusItem::UidNext).parse(r),
        A::UidValidity => map(nz_number, StatusItem::UidValidity).parse(r),
        A::Unseen => map(number, StatusItem::Unseen).parse(r),
        A::Deleted => map(number, StatusItem::Deleted).parse(r),
        A::Size => map(number64, StatusItem::Size).parse(r),
        A::DeletedStorage => map(number64, StatusItem::DeletedStorage).parse(r),
        A::HighestModSeq => {
            map(crate::core::mod_sequence_valzer, StatusItem::HighestModSeq).parse(r)
        }
        A::MailboxId => map(
            (
                nom::bytes::complete::tag(&b"("[..]),
                crate::types::objectid,
                nom::bytes::complete::tag(&b")"[..]),
            ),
            |(_, id, _)| StatusItem::MailboxId(id),
        )
        .parse(r),
        A::AppendLimit => alt((
            map(nil, |_| StatusItem::AppendLimit(None)),
            map(number, |n| StatusItem::AppendLimit(Some(n))),
        ))
        .parse(r),
    }
}

/// `search-return-data = "MIN" SP nz-number / "MAX" SP nz-number / "ALL" SP sequence-set / "COUNT" SP number / "MODSEQ" SP mod-sequence-value`
fn search_return_data(i: &[u8]) -> PResult<'_, ESearchItem> {
    alt((
        map((keyword("MIN"), sp, nz_number), |(_, _, n)| {
            ESearchItem::Min(n)
        }),
        map((keyword("MAX"), sp, nz_number), |(_, _, n)| {
            ESearchItem::Max(n)
        }),
        map((keyword("ALL"), sp, sequence_set), |(_, _, s)| {
            ESearchItem::All(s)
        }),
        map((keyword("COUNT"), sp, number), |(_, _, n)| {
            ESearchItem::Count(n)
        }),
        map((keyword("MODSEQ"), sp, mod_sequence_value), |(_, _, n)| {
            ESearchItem::ModSeq(n)
        }),
        // ret-data-partial = "PARTIAL" SP "(" partial-range SP partial-results ")";
        // partial-results = sequence-set / "NIL" (RFC 9394 §5)
        map(
            (
                keyword("PARTIAL"),
                sp,
                tag(&b"("[..]),
                crate::command::partial_range,
                sp,
                alt((map(nil, |_| None), map(sequence_set, Some))),
                tag(&b")"[..]),
            ),
            |(_, _, _, range, _, results, _)| ESearchItem::Partial { range, results },
        ),
        map((keyword("ADDTO"), sp, context_positions), |(_, _, v)| {
            ESearchItem::AddTo(v)
        }),
        map(
            (keyword("REMOVEFROM"), sp, context_positions),
            |(_, _, v)| ESearchItem::RemoveFrom(v),
        ),
    ))
    .parse(i)
}

/// `"(" context-position SP sequence-set *(SP context-position SP
/// sequence-set) ")"`; `context-position = number` (RFC 5267 §5)
fn context_positions(i: &[u8]) -> PResult<'_, Vec<(u32, crate::types::SequenceSet)>> {
    crate::core::paren_list1(map((number, sp, sequence_set), |(n, _, s)| (n, s))).parse(i)
}

/// `Namespace = nil / "(" 1*Namespace-Descr ")"`
fn namespace(i: &[u8]) -> PResult<'_, Option<Vec<NamespaceDescr>>> {
    if let Ok((r, _)) = nil(i) {
        return Ok((r, None));
    }
    let (mut r, _) = tag(&b"("[..]).parse(i)?;
    let mut v = Vec::new();
    loop {
        if let Some(rest) = r.strip_prefix(b")") {
            if v.is_empty() {
                return Err(fail(i));
            }
            return Ok((rest, Some(v)));
        }
        let (rest, d) = namespace_descr(r)?;
        v.push(d);
        r = rest;
    }
}

/// `Namespace-Descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil) *(Namespace-Response-Extension) ")"`;
/// `Namespace-Response-Extension = SP string SP "(" string *(SP string) ")"`
fn namespace_descr(i: &[u8]) -> PResult<'_, NamespaceDescr> {
    let (r, (_, prefix, _, delimiter)) = (tag(&b"("[..]), string, sp, delimiter).parse(i)?;
    let mut r = r;
    let mut extensions = Vec::new();
    while let Ok((r2, (_, k, _, v))) = (sp, string, sp, paren_list1(string)).parse(r) {
        extensions.push((k, v));
        r = r2;
    }
    let (r, _) = tag(&b")"[..]).parse(r)?;
    Ok((
        r,
        NamespaceDescr {
            prefix,
            delimiter,
            extensions,
        },
    ))
}

/// `mailbox-data = "FLAGS" SP flag-list / "LIST" SP mailbox-list / esearch-response /
///  "STATUS" SP mailbox SP "(" [status-att-list] ")" / number SP "EXISTS" /
///  "NAMESPACE" SP namespace-response` — plus `capability-data`, `enable-data`,
///  LSUB, SEARCH (IMAP4rev1), ID (RFC 2971) and VANISHED (RFC 7162)
fn mailbox_data(i: &[u8], depth: usize) -> PResult<'_, Data> {
    let (r, name) = crate::types::atom(i)?;
    match name.as_str().to_ascii_uppercase().as_str() {
        "CAPABILITY" => map((sp, sp_list1(capability)), |(_, v)| Data::Capability(v)).parse(r),
        "ENABLED" => {
            let mut caps = Vec::new();
            let mut r = r;
            while let Ok((r2, (_, c))) = (sp, capability).parse(r) {
                caps.push(c);
                r = r2;
            }
            Ok((r, Data::Enabled(caps)))
        }
        "FLAGS" => map((sp, flag_list), |(_, v)| Data::Flags(v)).parse(r),
        "LIST" => map((sp, |x| mailbox_list(x, depth)), |(_, l)| Data::List(l)).parse(r),
        "LSUB" => map((sp, |x| mailbox_list(x, depth)), |(_, l)| Data::Lsub(l)).parse(r),
        "SEARCH" => {
            let mut ids = Vec::new();
            let mut r = r;
            while let Ok((r2, (_, n))) = (sp, nz_number).parse(r) {
                ids.push(n);
                r = r2;
            }
            let (r, mod_seq) = opt(map(
                (
                    sp,
                    tag(&b"("[..]),
                    tag_no_case(&b"MODSEQ "[..]),
                    mod_sequence_value,
                    tag(&b")"[..]),
                ),
                |(_, _, _, n, _)| n,
            ))
            .parse(r)?;
            Ok((r, Data::Search { ids, mod_seq }))
        }
        "ESEARCH" => {
            let (r, correlator) = opt(map(
                (
                    sp,
                    tag(&b"("[..]),
                    keyword("TAG"),
                    sp,
                    string,
                    tag(&b")"[..]),
                ),
                |(_, _, _, _, s, _)| s,
            ))
            .parse(r)?;
            let correlator = match correlator {
                Some(s) => Some(
                    s.as_str()
                        .and_then(|s| crate::types::Tag::try_from(s).ok())
                        .ok_or_else(|| fail(i))?,
                ),
                None => None,
            };
            let (r, uid) = opt((sp, keyword("UID"))).parse(r)?;
            let mut items = Vec::new();
            let mut r = r;
            while let Ok((r2, (_, it))) = (sp, search_return_data).parse(r) {
                items.push(it);
                r = r2;
            }
            Ok((
                r,
                Data::ESearch {
                    correlator,
                    uid: uid.is_some(),
                    items,
                },
            ))
        }
        // quota-response = "QUOTA" SP quota-root-name SP quota-list;
        // quota-list = "(" quota-resource *(SP quota-resource) ")"
        "QUOTA" => {
            let (r, (_, root, _, resources)) = (
                sp,
                crate::types::astring,
                sp,
                paren_list1(map(
                    (crate::types::atom, sp, number64, sp, number64),
                    |(name, _, usage, _, limit)| super::QuotaResource { name, usage, limit },
                )),
            )
                .parse(r)?;
            Ok((r, Data::Quota { root, resources }))
        }
        // quotaroot-response = "QUOTAROOT" SP mailbox *(SP quota-root-name)
        "QUOTAROOT" => {
            let (mut r, (_, mailbox)) = (sp, mailbox).parse(r)?;
            let mut roots = Vec::new();
            while let Ok((r2, (_, root))) = (sp, crate::types::astring).parse(r) {
                roots.push(root);
                r = r2;
            }
            Ok((r, Data::QuotaRoot { mailbox, roots }))
        }
        "SORT" => {
            let mut ids = Vec::new();
            let mut r = r;
            while let Ok((r2, (_, n))) = (sp, nz_number).parse(r) {
                ids.push(n);
                r = r2;
            }
            let (r, mod_seq) = opt(map(
                (
                    sp,
                    tag(&b"("[..]),
                    tag_no_case(&b"MODSEQ "[..]),
                    mod_sequence_value,
                    tag(&b")"[..]),
                ),
                |(_, _, _, n, _)| n,
            ))
            .parse(r)?;
            Ok((r, Data::Sort { ids, mod_seq }))
        }
        "THREAD" => map(|x| super::thread::thread_data(x, depth), Data::Thread).parse(r),
        "STATUS" => {
            let (r, (_, mailbox, _, items)) =
                (sp, mailbox, sp, paren_list0(status_att_val)).parse(r)?;
            Ok((r, Data::Status { mailbox, items }))
        }
        "NAMESPACE" => {
            let (r, (_, personal, _, other, _, shared)) =
                (sp, namespace, sp, namespace, sp, namespace).parse(r)?;
            Ok((
                r,
                Data::Namespace {
                    personal,
                    other,
                    shared,
                },
            ))
        }
        "ID" => map((sp, id_params_list), |(_, p)| Data::Id(p)).parse(r),
        // genurlauth-data = "*" SP "GENURLAUTH" 1*(SP url-full)
        "GENURLAUTH" => map((sp, sp_list1(astring)), |(_, v)| Data::GenUrlAuth(v)).parse(r),
        // urlfetch-data = "*" SP "URLFETCH" 1*(SP url-full SP nstring)
        "URLFETCH" => map(
            (
                sp,
                sp_list1(map((astring, sp, crate::types::nstring), |(u, _, d)| {
                    (u, d)
                })),
            ),
            |(_, v)| Data::UrlFetch(v),
        )
        .parse(r),
        "VANISHED" => {
            let (r, earlier) = opt((sp, tag_no_case(&b"(EARLIER)"[..]))).parse(r)?;
            let (r, (_, uids)) = (sp, sequence_set).parse(r)?;
            Ok((
                r,
                Data::Vanished {
                    earlier: earlier.is_some(),
                    uids,
                },
            ))
        }
        _ => Err(fail(i)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::Code;

    /// (input, remainder, code, text)
    type Case = (&'static [u8], &'static [u8], Option<Code>, &'static str);

    #[test]
    fn resp_text_known_answers() {
        let cases: &[Case] = &[
            (b"[ALERT] hi\r\n", b"\r\n", Some(Code::Alert), "hi"),
            (b"[READ-WRITE]\r\n", b"\r\n", Some(Code::ReadWrite), ""),
            (b"plain text\r\n", b"\r\n", None, "plain text"),
            (b"\r\n", b"\r\n", None, ""),
        ];
        for (input, rest, code, t) in cases {
            let (r, v) = resp_text(input).unwrap();
            assert_eq!((r, &v.code, v.text.as_str()), (*rest, code, *t));
        }
        assert!(resp_text(b"[unterminated\r\n").is_err());
    }

    #[test]
    fn mailbox_data_known_answers() {
        let (r, d) = mailbox_data(b"STATUS x (MESSAGES 3 APPENDLIMIT NIL)\r\n", 8).unwrap();
        assert_eq!(r, b"\r\n");
        let Data::Status { items, .. } = d else {
            panic!()
        };
        assert_eq!(
            items,
            vec![StatusItem::Messages(3), StatusItem::AppendLimit(None)]
        );
        let (r, d) = mailbox_data(b"SEARCH 1 2 (MODSEQ 9)\r\n", 8).unwrap();
        assert_eq!(r, b"\r\n");
        assert!(matches!(d, Data::Search { ref ids, mod_seq: Some(9) } if ids.len() == 2));
        let (r, d) = mailbox_data(b"ESEARCH UID COUNT 0\r\n", 8).unwrap();
        assert_eq!(r, b"\r\n");
        assert_eq!(
            d,
            Data::ESearch {
                correlator: None,
                uid: true,
                items: vec![ESearchItem::Count(0)]
            }
        );
        let (r, n) = namespace(b"((\"\" \"/\")) rest").unwrap();
        assert_eq!(r, b" rest");
        assert_eq!(n.map(|v| v.len()), Some(1));
        assert!(namespace(b"()").is_err());
        assert_eq!(delimiter(b"NIL x"), Ok((&b" x"[..], None)));
        assert!(delimiter(b"\"ab\"").is_err());
    }

    #[test]
    fn message_data_known_answers() {
        assert_eq!(
            message_data(b"0 EXISTS\r\n", 8),
            Ok((&b"\r\n"[..], Data::Exists(0)))
        );
        assert!(message_data(b"0 EXPUNGE\r\n", 8).is_err());
        let (r, d) = message_data(b"3 FETCH (UID 7)\r\n", 8).unwrap();
        assert_eq!(r, b"\r\n");
        assert!(matches!(d, Data::Fetch { ref items, .. } if items.len() == 1));
    }
}
