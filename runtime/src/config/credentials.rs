//! Credentials in a configuration section, the same keys wherever they
//! stand (a backend's, `[serve]`): `username` with `password_env` or
//! `password_file`, `api_key_env` or `api_key_file`, or
//! `bearer_token_env` or `bearer_token_file`.

use std::path::PathBuf;

use serde::Deserialize;

use super::Auth;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The credential keys of a section, as written; [`resolve`](Self::resolve)
/// reads the secrets they name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CredentialKeys {
    /// The user of basic authentication.
    pub username: Option<String>,
    /// The environment variable that holds the password.
    pub password_env: Option<String>,
    /// The file that holds the password.
    pub password_file: Option<PathBuf>,
    /// The environment variable that holds the API key (base64 `id:key`).
    pub api_key_env: Option<String>,
    /// The file that holds the API key.
    pub api_key_file: Option<PathBuf>,
    /// The environment variable that holds the bearer token.
    pub bearer_token_env: Option<String>,
    /// The file that holds the bearer token.
    pub bearer_token_file: Option<PathBuf>,
}

impl CredentialKeys {
    /// The authentication the keys give, its secrets read from the
    /// environment or files; `section` names the section in errors.
    ///
    /// ```
    /// use esrecord::config::{Auth, CredentialKeys};
    /// let keys = CredentialKeys { api_key_env: Some("HOME".into()), ..CredentialKeys::default() };
    /// assert!(matches!(keys.resolve("[serve]")?, Auth::ApiKey(_)));
    /// let both = CredentialKeys { username: Some("a".into()), ..keys };
    /// assert!(both.resolve("[serve]").is_err());
    /// # Ok::<(), esrecord::Error>(())
    /// ```
    pub fn resolve(&self, section: &str) -> Result<Auth> {
        let in_section = |message: String| Error::Config(format!("{section}: {message}"));
        let secret = |env: &Option<String>, file: &Option<PathBuf>, what: &str| match (env, file) {
            (Some(_), Some(_)) => Err(in_section(format!(
                "give {what}_env or {what}_file, not both"
            ))),
            (Some(var), None) => Secret::from_env(var).map(Some),
            (None, Some(path)) => Secret::from_file(path).map(Some),
            (None, None) => Ok(None),
        };
        let password = secret(&self.password_env, &self.password_file, "password")?;
        let api_key = secret(&self.api_key_env, &self.api_key_file, "api_key")?;
        let token = secret(
            &self.bearer_token_env,
            &self.bearer_token_file,
            "bearer_token",
        )?;
        let chosen = [
            password.is_some() || self.username.is_some(),
            api_key.is_some(),
            token.is_some(),
        ];
        if chosen.iter().filter(|c| **c).count() > 1 {
            return Err(in_section(
                "choose one way to authenticate: username with password_env/password_file, api_key_env/api_key_file, or bearer_token_env/bearer_token_file".into(),
            ));
        }
        Ok(if let Some(key) = api_key {
            Auth::ApiKey(key)
        } else if let Some(token) = token {
            Auth::Bearer(token)
        } else if let Some(username) = &self.username {
            let password = password.ok_or_else(|| {
                in_section(format!(
                    "user {username:?} has no password: add password_env or password_file"
                ))
            })?;
            Auth::Basic {
                username: username.clone(),
                password,
            }
        } else if password.is_some() {
            return Err(in_section("a password needs a `username`".into()));
        } else {
            Auth::None
        })
    }
}
