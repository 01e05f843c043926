//! QUOTA (RFC 9208): the commands and responses of the RFC's examples,
//! parsed and written back octet for octet, and malformed forms refused.

use imap_proto::{Command, Encode, Response, Version};

#[test]
fn rfc_9208_commands_round_trip() {
    for line in [
        "G0001 GETQUOTA \"!partition/sda4\"\r\n",
        "G0002 GETQUOTAROOT INBOX\r\n",
        "S0000 SETQUOTA \"User quota\" (STORAGE 512)\r\n",
        "S0001 SETQUOTA \"User quota\" (STORAGE 512 MESSAGE 100)\r\n",
        "S0002 SETQUOTA \"\" ()\r\n",
        "a STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)\r\n",
    ] {
        let c = Command::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(String::from_utf8(c.to_bytes(Version::Rev2)).unwrap(), line);
    }
    for bad in [
        &b"a GETQUOTA\r\n"[..],
        b"a GETQUOTAROOT\r\n",
        b"a SETQUOTA \"\" STORAGE 512\r\n",
        b"a SETQUOTA \"\" (STORAGE)\r\n",
        b"a SETQUOTA \"\" (STORAGE -1)\r\n",
    ] {
        assert!(
            Command::parse(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn rfc_9208_responses_round_trip() {
    for line in [
        "* QUOTA \"!partition/sda4\" (STORAGE 104 10923847)\r\n",
        "* QUOTAROOT INBOX \"#user/alice\" \"!partition/sda4\"\r\n",
        "* QUOTA \"#user/alice\" (MESSAGE 42 1000)\r\n",
        "* QUOTAROOT comp.mail.mime\r\n",
        "* QUOTA \"\" (STORAGE 10 512 MESSAGE 2 3)\r\n",
        "* STATUS INBOX (MESSAGES 12 DELETED 4 DELETED-STORAGE 8)\r\n",
    ] {
        let r = Response::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(String::from_utf8(r.to_bytes(Version::Rev2)).unwrap(), line);
    }
    for bad in [
        &b"* QUOTA \"\" ()\r\n"[..],
        b"* QUOTA \"\" (STORAGE 1)\r\n",
        b"* QUOTAROOT\r\n",
    ] {
        assert!(
            Response::parse(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}
