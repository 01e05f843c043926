//! Helpers for the pipeline end-to-end tests: required external tools
//! (a missing one fails the test with a clear message; CI installs them
//! through scripts/ci-deps.sh), a real `redis-server` on a free port, and
//! the Python HTTP receiver (tests/interop/http_receiver.py).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::require;

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port")
}

/// Polls `f` every 50 ms until it returns `Some` or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A private `redis-server` (no persistence), killed on drop.
pub struct Redis {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Redis {
    /// Starts one on `port` and waits until it answers PING.
    pub fn start_on(port: u16) -> Redis {
        require("redis-server");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let redis = Redis { child, port };
        let up = wait_for(Duration::from_secs(10), || {
            redis.command(&["PING"]).ok().filter(|r| r == "+PONG")
        });
        assert!(up.is_some(), "redis-server did not answer PING on {port}");
        redis
    }

    /// Starts one on a free port.
    pub fn start() -> Redis {
        Redis::start_on(free_port())
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Sends one command, returns the first reply line.
    pub fn command(&self, args: &[&str]) -> std::io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(out.as_bytes())?;
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line)?;
        Ok(line.trim_end().to_owned())
    }

    /// `LRANGE key 0 -1`, each element exactly.
    pub fn lrange(&self, key: &str) -> Vec<Vec<u8>> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect redis");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let cmd = format!(
            "*4\r\n$6\r\nLRANGE\r\n${}\r\n{key}\r\n$1\r\n0\r\n$2\r\n-1\r\n",
            key.len()
        );
        s.write_all(cmd.as_bytes()).unwrap();
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let n: usize = line.trim_end()[1..].parse().expect("array length");
        let mut out = Vec::new();
        for _ in 0..n {
            line.clear();
            r.read_line(&mut line).unwrap();
            let len: usize = line.trim_end()[1..].parse().expect("bulk length");
            let mut buf = vec![0u8; len + 2];
            std::io::Read::read_exact(&mut r, &mut buf).unwrap();
            buf.truncate(len);
            out.push(buf);
        }
        out
    }

    /// Stops it (kill and reap).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// tests/interop/http_receiver.py, killed on drop.
pub struct Receiver {
    child: Child,
    /// Where it records requests.
    pub out: PathBuf,
    /// Its port.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Receiver {
    /// Starts it; `/hook` answers 500 to the first `fail_first` posts.
    pub fn start(secret: &str, fail_first: u32) -> Receiver {
        require("python3");
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let port_file = dir.path().join("port");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/http_receiver.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(&port_file)
            .arg(&out)
            .arg(secret)
            .arg(fail_first.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn python3 http_receiver.py");
        let port = wait_for(Duration::from_secs(10), || {
            std::fs::read_to_string(&port_file)
                .ok()?
                .trim()
                .parse()
                .ok()
        })
        .expect("http_receiver.py did not start");
        Receiver {
            child,
            out,
            port,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The recorded requests of `kind` (`hook` or `check`), in order.
    pub fn records(&self, kind: &str) -> Vec<serde_json::Value> {
        let mut names: Vec<_> = std::fs::read_dir(&self.out)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("{kind}-")) && n.ends_with(".json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|n| {
                let text = std::fs::read_to_string(self.out.join(n)).unwrap();
                serde_json::from_str(&text).unwrap()
            })
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
