//! `[serve]`: how `records serve` answers over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::credentials::CredentialKeys;
use crate::error::{Error, Result};

/// Where and to whom `records serve` answers (`[serve]`).
///
/// ```
/// let config = esrecord::config::Config::from_toml(r#"
///     [serve]
///     listen = "0.0.0.0:9200"
///     username = "grafana"
///     password_file = "/run/secrets/serve-password"
/// "#)?;
/// assert_eq!(config.serve.listen.port(), 9200);
/// assert_eq!(config.serve.credentials.username.as_deref(), Some("grafana"));
/// assert!(esrecord::config::Config::from_toml("[serve]\nlisten = \"nowhere\"").is_err());
/// # Ok::<(), esrecord::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// The address to listen on (default `127.0.0.1:9200`). Any other
    /// than a loopback address needs credentials.
    pub listen: SocketAddr,
    /// The credentials a request must carry, read when serving starts.
    pub credentials: CredentialKeys,
    /// The certificate chain and key (PEM) to answer over TLS with.
    pub tls: Option<TlsFiles>,
}

/// A PEM certificate chain and its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, the server's first.
    pub certificate: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9200)),
            credentials: CredentialKeys::default(),
            tls: None,
        }
    }
}

/// `[serve]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServeSection {
    listen: Option<String>,
    username: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    api_key_env: Option<String>,
    api_key_file: Option<PathBuf>,
    bearer_token_env: Option<String>,
    bearer_token_file: Option<PathBuf>,
    tls_certificate: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

impl ServeSection {
    pub(super) fn resolve(self) -> Result<ServeConfig> {
        let mut config = ServeConfig::default();
        if let Some(listen) = &self.listen {
            config.listen = listen.parse().map_err(|_| {
                Error::Config(format!(
                    "[serve] listen = {listen:?} is not an address and port, e.g. \"127.0.0.1:9200\""
                ))
            })?;
        }
        config.tls = match (self.tls_certificate, self.tls_key) {
            (Some(certificate), Some(key)) => Some(TlsFiles { certificate, key }),
            (None, None) => None,
            _ => {
                return Err(Error::Config(
                    "[serve] TLS needs both tls_certificate and tls_key (PEM files)".into(),
                ));
            }
        };
        config.credentials = CredentialKeys {
            username: self.username,
            password_env: self.password_env,
            password_file: self.password_file,
            api_key_env: self.api_key_env,
            api_key_file: self.api_key_file,
            bearer_token_env: self.bearer_token_env,
            bearer_token_file: self.bearer_token_file,
        };
        Ok(config)
    }
}
