//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use maildir::fault::FaultFs;
use maildir::{Delivered, DeliveryError, Envelope, Store, StoreConfig};

pub fn config(dir: &Path) -> StoreConfig {
    StoreConfig {
        data_dir: dir.to_path_buf(),
        hostname: "mx.test".to_owned(),
        password_hashing: Default::default(),
    }
}

pub fn open(dir: &Path) -> Store {
    Store::open(config(dir)).expect("open store")
}

pub fn open_faulty(dir: &Path) -> (Store, FaultFs) {
    let fs = FaultFs::new();
    let store = Store::open_with_fs(config(dir), Arc::new(fs.clone())).expect("open store");
    (store, fs)
}

pub fn envelope(from: Option<&str>, to: &[&str]) -> Envelope {
    Envelope {
        return_path: from.map(str::to_owned),
        recipients: to.iter().map(|s| (*s).to_owned()).collect(),
        trace: b"Received: from client.test by mx.test; Sun, 22 Nov 2026 16:00:00 +0000\r\n"
            .to_vec(),
    }
}

/// Delivers `body` to `to` in one write.
pub fn deliver(store: &Store, to: &[&str], body: &[u8]) -> Result<Vec<Delivered>, DeliveryError> {
    let mut d = store.begin_delivery(envelope(Some("sender@remote.test"), to))?;
    d.write(body)?;
    d.commit()
}

/// The sorted file names in a directory.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// The account root of a `local@domain` test account.
pub fn root(data: &Path, domain: &str, local: &str) -> PathBuf {
    data.join("mail").join(domain).join(local)
}

pub fn uids(store: &Store, address: &str, mailbox: &str) -> Vec<u32> {
    store
        .list_messages(address, mailbox)
        .unwrap()
        .into_iter()
        .map(|m| m.uid)
        .collect()
}

/// Appends `body` to `mailbox` of `address`; returns (uidvalidity, uid).
pub fn append(
    store: &Store,
    address: &str,
    mailbox: &str,
    flags: maildir::Flags,
    body: &[u8],
) -> Result<(u32, u32), maildir::StoreError> {
    let mut a = store.begin_append(address, mailbox, flags, &[], Some(1_700_000_000))?;
    a.write(body)?;
    a.commit()
}

/// The mailbox names of an account, in listing order.
pub fn mailbox_names(store: &Store, address: &str) -> Vec<String> {
    store
        .mailboxes(address)
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect()
}

/// Every event queued on a subscription right now.
pub fn drain(sub: &maildir::Subscription) -> Vec<maildir::Event> {
    std::iter::from_fn(|| sub.try_recv()).collect()
}
