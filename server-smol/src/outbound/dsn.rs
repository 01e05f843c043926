//! Delivery status notifications (RFC 3464), built with mail-builder: a
//! `multipart/report; report-type=delivery-status` with a human-readable
//! part, the `message/delivery-status` part and the original header
//! (`text/rfc822-headers`, RFC 6522 §3). Used by `[[rules]] action =
//! "bounce"` now and by outbound delivery for its failure notices.
//!
//! A DSN is sent from the null reverse-path (RFC 5321 §4.5.5) and carries
//! `Auto-Submitted: auto-replied` (RFC 3834), so it never bounces again.

use std::time::{SystemTime, UNIX_EPOCH};

use mail_builder::MessageBuilder;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;

/// RFC 3464 §2.3.3 `Action:` of one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Action {
    /// Could not be delivered: the sender must act.
    #[default]
    Failed,
    /// Not yet delivered, still being tried (`delay_notice`).
    Delayed,
    /// Delivered (NOTIFY=SUCCESS).
    Delivered,
}

impl Action {
    /// The RFC 3464 §2.3.3 `Action:` value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Delivered => "delivered",
        }
    }
}

/// One recipient the report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    /// What happened to it.
    pub action: Action,
    /// RFC 3461 `ORCPT=` as received (`addr-type;xtext`), reported as
    /// `Original-Recipient:`.
    pub orcpt: Option<String>,
    /// The recipient address (`Final-Recipient: rfc822; ...`).
    pub address: String,
    /// The enhanced status code (`Status:`), e.g. `5.1.1`.
    pub status: String,
    /// `Diagnostic-Code:`, e.g. `smtp; 550 5.1.1 User unknown`.
    pub diagnostic: String,
}

/// What a failure report says.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// Our host name (`Reporting-MTA: dns; ...`, the From: domain).
    pub reporting_mta: &'a str,
    /// The original envelope sender: the report goes to it.
    pub original_sender: &'a str,
    /// The failed recipients.
    pub recipients: &'a [DsnRecipient],
    /// The original message's header section (CRLF lines).
    pub original_headers: &'a [u8],
    /// When the original message arrived (`Arrival-Date:`).
    pub arrival: SystemTime,
    /// RFC 3461 `ENVID=` of the original message (`Original-Envelope-Id:`).
    pub envid: Option<&'a str>,
}

/// Removes CR, LF and other controls from a value placed in a field.
fn field(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The whole DSN message, CRLF line endings.
pub fn build(report: &Report<'_>) -> Vec<u8> {
    let arrival = report
        .arrival
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let arrival = mail_parser::DateTime::from_timestamp(arrival).to_rfc822();
    let host = field(report.reporting_mta);
    let action = report
        .recipients
        .first()
        .map(|r| r.action)
        .unwrap_or_default();
    let (what, subject) = match action {
        Action::Failed => (
            "Your message could not be delivered to the following recipients:",
            "Undelivered Mail Returned to Sender",
        ),
        Action::Delayed => (
            "Your message has not been delivered yet to the following recipients; delivery will be tried again:",
            "Delayed Mail (still being retried)",
        ),
        Action::Delivered => (
            "Your message was delivered to the following recipients:",
            "Successful Mail Delivery Report",
        ),
    };
    let mut human = format!("This is the mail system at host {host}.\r\n\r\n{what}\r\n\r\n");
    let mut status = String::new();
    if let Some(envid) = report.envid {
        status.push_str(&format!("Original-Envelope-Id: {}\r\n", field(envid)));
    }
    status.push_str(&format!(
        "Reporting-MTA: dns; {host}\r\nArrival-Date: {arrival}\r\n"
    ));
    for r in report.recipients {
        let address = field(&r.address);
        let diagnostic = field(&r.diagnostic);
        human.push_str(&format!("<{address}>: {diagnostic}\r\n"));
        status.push_str("\r\n");
        if let Some(orcpt) = &r.orcpt {
            status.push_str(&format!("Original-Recipient: {}\r\n", field(orcpt)));
        }
        status.push_str(&format!(
            "Final-Recipient: rfc822; {address}\r\nAction: {}\r\nStatus: {}\r\n",
            r.action.as_str(),
            field(&r.status)
        ));
        if !diagnostic.is_empty() {
            status.push_str(&format!("Diagnostic-Code: {diagnostic}\r\n"));
        }
    }
    let mut headers = report.original_headers.to_vec();
    if !headers.ends_with(b"\r\n") {
        headers.extend_from_slice(b"\r\n");
    }
    let eight_bit = headers.iter().any(|b| *b >= 0x80);
    let body = MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", "delivery-status"),
        vec![
            MimePart::new(
                ContentType::new("text/plain").attribute("charset", "us-ascii"),
                human,
            )
            .header("Content-Transfer-Encoding", Raw::new("7bit")),
            MimePart::new(
                ContentType::new("message/delivery-status"),
                status.into_bytes(),
            )
            .header("Content-Transfer-Encoding", Raw::new("7bit")),
            MimePart::new(ContentType::new("text/rfc822-headers"), headers).header(
                "Content-Transfer-Encoding",
                Raw::new(if eight_bit { "8bit" } else { "7bit" }),
            ),
        ],
    );
    let mut out = Vec::new();
    let _ = MessageBuilder::new()
        .from((
            "Mail Delivery System",
            format!("MAILER-DAEMON@{host}").as_str(),
        ))
        .to(field(report.original_sender).as_str())
        .subject(subject)
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .body(body)
        .write_to(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_parses_back() {
        use mail_parser::MimeHeaders;
        let dsn = build(&Report {
            reporting_mta: "mx.example",
            original_sender: "alice@example",
            recipients: &[DsnRecipient {
                action: Action::Failed,
                orcpt: None,
                address: "bob@example".into(),
                status: "5.1.1".into(),
                diagnostic: "smtp; 550 5.1.1 User unknown".into(),
            }],
            original_headers: b"Subject: hello\r\nMessage-ID: <m1@x>\r\n",
            arrival: SystemTime::UNIX_EPOCH,
            envid: None,
        });
        let text = String::from_utf8(dsn.clone()).unwrap();
        assert!(!text.replace("\r\n", "").contains('\n'), "bare LF in DSN");
        let m = mail_parser::MessageParser::default().parse(&dsn).unwrap();
        assert_eq!(m.subject(), Some("Undelivered Mail Returned to Sender"));
        let ct = m.content_type().unwrap();
        assert_eq!(ct.ctype(), "multipart");
        assert_eq!(ct.subtype(), Some("report"));
        assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
        assert!(text.contains(
            "Final-Recipient: rfc822; bob@example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        ));
        assert!(text.contains("Content-Type: text/rfc822-headers"));
        assert!(text.contains("Subject: hello\r\nMessage-ID: <m1@x>\r\n"));
        assert!(text.contains("Auto-Submitted: auto-replied"));
    }
}
