//! Probes the machine for the external clients the end-to-end tests drive
//! (curl, swaks, mbsync, python3 and its imapclient module, ...). Each found
//! tool sets `cfg(have_<tool>)`; a test that needs a missing tool carries
//! `#[cfg_attr(not(have_<tool>), ignore = "...")]`, so the runner reports
//! it as ignored with the reason instead of it passing silently. CI installs
//! every tool (scripts/ci-deps.sh) and `.ci/run` fails on any ignored test.

use std::process::{Command, Stdio};

/// (cfg name, shell probe).
const TOOLS: &[(&str, &str)] = &[
    ("have_python3", "command -v python3"),
    ("have_curl", "command -v curl"),
    ("have_swaks", "command -v swaks"),
    ("have_mbsync", "command -v mbsync"),
    ("have_offlineimap", "command -v offlineimap"),
    ("have_fetchmail", "command -v fetchmail"),
    ("have_getmail", "command -v getmail"),
    ("have_imapclient", "python3 -c 'import imapclient'"),
    ("have_ip", "command -v ip"),
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PATH");
    // Installing a tool changes these directories: probe again then.
    for dir in ["/usr/bin", "/usr/local/bin"] {
        if std::path::Path::new(dir).is_dir() {
            println!("cargo::rerun-if-changed={dir}");
        }
    }
    for (cfg, probe) in TOOLS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        let found = Command::new("sh")
            .arg("-c")
            .arg(probe)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if found {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
