//! Global, reporter and metric tags, and the host tag.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The environment variable global tags are read from: `"k1: v1, k2: v2"`.
pub const TAGS_VARIABLE: &str = "ESRECORD_TAGS";

/// The environment variable that turns the host tag off when `true`.
pub const DISABLE_HOST_TAG_VARIABLE: &str = "ESRECORD_DISABLE_HOST_TAG";

/// Reads tags written as `"k1: v1, k2: v2"` (spaces optional), as
/// `ESRECORD_TAGS` holds them. An empty string is no tags.
///
/// ```
/// let tags = esrecord::metrics::parse_tags("env: prod,region:eu").unwrap();
/// assert_eq!(tags["env"], "prod");
/// assert_eq!(tags["region"], "eu");
/// assert!(esrecord::metrics::parse_tags("env prod").is_err());
/// ```
pub fn parse_tags(text: &str) -> Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    for pair in text.split(',') {
        if pair.trim().is_empty() && text.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = pair.split_once(':') else {
            return Err(malformed(text, pair, "has no `:` between key and value"));
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(malformed(text, pair, "has an empty key"));
        }
        if value.is_empty() {
            return Err(malformed(text, pair, "has an empty value"));
        }
        if tags.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(malformed(text, pair, "repeats a key"));
        }
    }
    Ok(tags)
}

fn malformed(text: &str, pair: &str, problem: &str) -> Error {
    Error::Config(format!(
        "tags {text:?}: {:?} {problem}; write them as \"key1: value1, key2: value2\"",
        pair.trim()
    ))
}

/// The tags every metric of a reporter starts from: the global tags, the
/// reporter's tags over them, and `host` (the hostname) unless either set
/// it or `host_tag` is off.
pub(crate) fn base_tags(
    global: &BTreeMap<String, String>,
    reporter: &BTreeMap<String, String>,
    host_tag: bool,
) -> BTreeMap<String, String> {
    let mut tags = global.clone();
    tags.extend(reporter.iter().map(|(k, v)| (k.clone(), v.clone())));
    if host_tag && !tags.contains_key("host") {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        if !host.is_empty() {
            tags.insert("host".to_owned(), host);
        }
    }
    tags
}

/// Whether `ESRECORD_DISABLE_HOST_TAG` asks for no host tag.
pub(crate) fn host_tag_disabled_by_environment() -> bool {
    std::env::var(DISABLE_HOST_TAG_VARIABLE)
        .is_ok_and(|value| value.trim().eq_ignore_ascii_case("true") || value.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn tags_are_read_with_or_without_spaces() {
        assert_eq!(
            parse_tags("k1: v1, k2: v2").unwrap(),
            map(&[("k1", "v1"), ("k2", "v2")])
        );
        assert_eq!(
            parse_tags("k1:v1,k2:v2").unwrap(),
            map(&[("k1", "v1"), ("k2", "v2")])
        );
        assert_eq!(
            parse_tags("url: http://x:1").unwrap(),
            map(&[("url", "http://x:1")])
        );
        assert_eq!(parse_tags("").unwrap(), map(&[]));
    }

    #[test]
    fn malformed_tags_are_refused_quoting_them() {
        for (text, problem) in [
            ("k1 v1", "\"k1 v1\" has no `:`"),
            ("k1: v1,, k2: v2", "\"\" has no `:`"),
            (": v1", "\": v1\" has an empty key"),
            ("k1:", "\"k1:\" has an empty value"),
            ("k1: a, k1: b", "\"k1: b\" repeats a key"),
        ] {
            let message = parse_tags(text).unwrap_err().to_string();
            assert!(message.contains(&format!("{text:?}")), "{message}");
            assert!(message.contains(problem), "{message}");
        }
    }

    #[test]
    fn reporter_tags_win_over_global_and_host_is_added_unless_set_or_off() {
        let global = map(&[("env", "dev"), ("service", "shop")]);
        let reporter = map(&[("env", "prod")]);
        let tags = base_tags(&global, &reporter, true);
        assert_eq!(tags["env"], "prod");
        assert_eq!(tags["service"], "shop");
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        assert_eq!(tags.get("host"), Some(&host));
        assert!(!base_tags(&global, &reporter, false).contains_key("host"));
        let own_host = map(&[("host", "web-1")]);
        assert_eq!(base_tags(&global, &own_host, true)["host"], "web-1");
    }
}
