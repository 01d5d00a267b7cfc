//! A password, API key or token: read from the environment or a file, and
//! never shown in logs, errors or `Debug` output.

use std::fmt;
use std::path::Path;

use crate::error::{Error, Result};

/// A secret value; `Debug` and `Display` print `***`.
///
/// ```
/// let secret = esrecord::Secret::new("hunter2");
/// assert_eq!(format!("{secret:?}"), "Secret(***)");
/// assert_eq!(secret.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret given in code.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret in the environment variable `name`.
    pub fn from_env(name: &str) -> Result<Self> {
        match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(Secret(value)),
            _ => Err(Error::Config(format!(
                "the environment variable {name} is not set (or empty); set it to the secret, or name another variable"
            ))),
        }
    }

    /// The secret in the file at `path`, without its trailing newline.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("read the secret file", path, e))?;
        let value = text.trim_end_matches(['\n', '\r']);
        if value.is_empty() {
            return Err(Error::Config(format!(
                "the secret file {} is empty",
                path.display()
            )));
        }
        Ok(Secret(value.to_owned()))
    }

    /// The secret itself, to hand to the client that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
