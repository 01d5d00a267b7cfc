//! Who may use the endpoint: everyone on loopback when no credentials are
//! configured; otherwise only requests whose `Authorization` header
//! carries them (basic, an API key or a bearer token, read from the
//! environment or a file as a client's are: see `[serve]` in
//! `esrecord.toml`).

use base64::Engine as _;

use crate::config::Auth;

/// Whether a request with the `Authorization` header `header` may pass.
pub(crate) fn allows(auth: &Auth, header: Option<&[u8]>) -> bool {
    let Some(header) = header else {
        return matches!(auth, Auth::None);
    };
    match auth {
        Auth::None => true,
        Auth::Basic { username, password } => {
            let Some(encoded) = header.strip_prefix(b"Basic ") else {
                return false;
            };
            let Ok(decoded) =
                base64::engine::general_purpose::STANDARD.decode(encoded.trim_ascii())
            else {
                return false;
            };
            let expected = format!("{username}:{}", password.expose());
            same(&decoded, expected.as_bytes())
        }
        Auth::ApiKey(key) => header
            .strip_prefix(b"ApiKey ")
            .is_some_and(|given| same(given.trim_ascii(), key.expose().as_bytes())),
        Auth::Bearer(token) => header
            .strip_prefix(b"Bearer ")
            .is_some_and(|given| same(given.trim_ascii(), token.expose().as_bytes())),
    }
}

/// `a == b`, in a time that does not tell how much of them matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    #[test]
    fn basic_auth_needs_the_user_and_password() {
        let auth = Auth::Basic {
            username: "grafana".into(),
            password: Secret::new("s3cret"),
        };
        let header = |user_password: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(user_password)
            )
        };
        assert!(allows(&auth, Some(header("grafana:s3cret").as_bytes())));
        assert!(!allows(&auth, Some(header("grafana:s3cre").as_bytes())));
        assert!(!allows(&auth, Some(header("other:s3cret").as_bytes())));
        assert!(!allows(&auth, Some(b"Basic !!!")));
        assert!(!allows(&auth, None));
    }

    #[test]
    fn api_keys_and_tokens_are_compared_whole() {
        let auth = Auth::ApiKey(Secret::new("aWQ6a2V5"));
        assert!(allows(&auth, Some(b"ApiKey aWQ6a2V5")));
        assert!(!allows(&auth, Some(b"ApiKey aWQ6a2V")));
        assert!(!allows(&auth, Some(b"Bearer aWQ6a2V5")));
        let auth = Auth::Bearer(Secret::new("token"));
        assert!(allows(&auth, Some(b"Bearer token")));
        assert!(allows(&Auth::None, None));
    }
}
