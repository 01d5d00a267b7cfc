//! `records serve` run as a user runs it, and a plain HTTP/1.1 client to
//! talk to it byte by byte (what a request is, exactly, matters here).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `records serve`, stopped with SIGINT when dropped.
pub(crate) struct Served {
    child: Child,
    pub(crate) address: SocketAddr,
}

impl Served {
    /// Serves the store in `dir/data` on a free loopback port, with the
    /// configuration file `config` when given.
    pub(crate) fn start(dir: &Path, config: Option<&Path>) -> Served {
        let mut command = Command::new(env!("CARGO_BIN_EXE_records"));
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env_remove("ESRECORD_CONFIG")
            .env_remove("ESRECORD_URL")
            .env("ESRECORD_DATA", dir.join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                let mut stderr = String::new();
                let _ = child
                    .stderr
                    .take()
                    .map(|mut e| e.read_to_string(&mut stderr));
                panic!("records serve did not start: {stderr}")
            });
        let address = line
            .strip_prefix("listening on http://")
            .or_else(|| line.strip_prefix("listening on https://"))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Served { child, address }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops it with SIGINT (Ctrl-C) and gives its exit code and stderr.
    pub(crate) fn stop(mut self) -> (Option<i32>, String) {
        let (code, stderr) = interrupt(&mut self.child);
        std::mem::forget(self);
        (code, stderr)
    }

    /// Whether it is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// One request; the status and body of the answer.
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        request(self.address, method, path, headers, body)
    }

    /// A JSON request; the status and the answer as JSON.
    pub(crate) fn json(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let (status, text) = self.request(
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        let value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"));
        (status, value)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        interrupt(&mut self.child);
    }
}

fn interrupt(child: &mut Child) -> (Option<i32>, String) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    for _ in 0..300 {
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            let _ = child
                .stderr
                .take()
                .map(|mut e| e.read_to_string(&mut stderr));
            return (status.code(), stderr);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    (None, "did not stop on SIGINT within 30 s".to_owned())
}

/// One HTTP/1.1 request on its own connection.
pub(crate) fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // A server that hangs up early (a TLS port spoken to in the clear)
    // answers nothing: status 0.
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body));
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

/// A virtualenv with the official Elasticsearch client, made under
/// target/ once (the client benchmark's way); its python.
pub(crate) fn python_with_client() -> PathBuf {
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = MAKING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-python");
    let python = target.join("bin/python");
    if !python.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&target)
            .status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "cannot make a virtualenv with python3 -m venv: install Python 3 with venv"
        );
        let installed = Command::new(target.join("bin/pip"))
            .args(["install", "--quiet", "elasticsearch>=9,<10"])
            .status();
        assert!(
            installed.is_ok_and(|s| s.success()),
            "cannot install the elasticsearch client from PyPI into {}",
            target.display()
        );
    }
    python
}
