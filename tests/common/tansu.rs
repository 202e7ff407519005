//! A tansu broker of the test's own (from `TANSU_BIN`), on a free port, storing in a SQLite
//! file in a directory the test owns, so it can be stopped and started again with its topics,
//! records and committed offsets intact. Killed on drop.
//!
//! Used where the shared broker of `KAFKA_BOOTSTRAP_SERVERS` will not do: SASL needs
//! `--authentication`, an outage needs a broker the test may stop.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The tansu binary from `TANSU_BIN`, when set and present.
pub fn tansu_bin() -> Option<PathBuf> {
    let bin = PathBuf::from(std::env::var_os("TANSU_BIN")?);
    bin.exists().then_some(bin)
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("local address")
        .port()
}

/// A tansu broker on `port`, storing in `dir/tansu.db`; killed on drop.
pub struct Tansu(Child);

impl Tansu {
    /// Starts the broker and waits until it listens (at most 20 s).
    pub fn start(bin: &Path, dir: &Path, port: u16, authentication: bool) -> Self {
        let url = format!("tcp://127.0.0.1:{port}");
        let mut cmd = Command::new(bin);
        cmd.arg("broker")
            .args(["--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if authentication {
            cmd.arg("--authentication");
        }
        let broker = Self(cmd.spawn().expect("start tansu"));
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "tansu did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        broker
    }

    /// Kills the broker (SIGKILL: no goodbye to its clients) and waits for it to exit.
    pub fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
