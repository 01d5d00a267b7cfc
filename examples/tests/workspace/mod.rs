//! The operator binary of the example application run as a user runs it:
//! a fresh directory with an embedded store of its own for each test.

// Each test binary uses some of the helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// A fresh directory with an embedded store in `data/`, and the binary
/// run inside it.
pub(crate) struct Workspace {
    pub(crate) dir: PathBuf,
}

impl Workspace {
    pub(crate) fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("esrecord-records-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Workspace { dir }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs `records ARGS` with the store in `data/` and `stdin` as its input.
    pub(crate) fn run_with_input(&self, args: &[&str], stdin: Stdio) -> Output {
        Command::new(env!("CARGO_BIN_EXE_records"))
            .args(args)
            .current_dir(&self.dir)
            .env_remove("ESRECORD_CONFIG")
            .env_remove("ESRECORD_URL")
            .env("ESRECORD_DATA", self.path("data"))
            .env("COLUMNS", "80")
            .stdin(stdin)
            .output()
            .unwrap()
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, Stdio::null())
    }

    /// Runs it and expects exit `code`; gives stdout and stderr.
    pub(crate) fn expect(&self, code: i32, args: &[&str]) -> (String, String) {
        let output = self.run(args);
        let (stdout, stderr) = texts(&output);
        assert_eq!(
            output.status.code(),
            Some(code),
            "records {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        (stdout, stderr)
    }

    pub(crate) fn write(&self, name: &str, lines: &[String]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        path
    }

    /// Imports `records` (JSON values) as records of `record_type`.
    pub(crate) fn import(&self, record_type: &str, records: &[Value]) {
        let path = self.path("import.ndjson");
        let lines: Vec<String> = records.iter().map(Value::to_string).collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let (_, stderr) = self.expect(0, &["import", record_type, path.to_str().unwrap()]);
        assert!(
            stderr.contains(&format!("imported {} records", records.len())),
            "{stderr}"
        );
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
