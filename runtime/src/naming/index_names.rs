//! Whether a name can be an index name, pattern or prefix: Elasticsearch's
//! index-name rules, with errors that say what the name was for.

use crate::error::{Error, Result};

/// Checks a name against Elasticsearch's index-name rules: lowercase; none of
/// `\ / * ? " < > | , #`, space or control characters; not starting with `-`,
/// `_` or `+`; not `.` or `..`; at most 255 bytes.
///
/// ```
/// use esrecord::naming::validate_index_name;
/// assert!(validate_index_name("shop_pageview_2024.03.05").is_ok());
/// assert!(validate_index_name("_shop").is_err());
/// ```
pub fn validate_index_name(name: &str) -> Result<()> {
    check_name(name, false).map_err(|reason| Error::invalid_name("index name", name, reason))
}

/// Checks an index pattern: the index-name rules, with `*` allowed.
///
/// ```
/// use esrecord::naming::validate_pattern;
/// assert!(validate_pattern("shop_pageview_*").is_ok());
/// assert!(validate_pattern("shop pageview_*").is_err());
/// ```
pub fn validate_pattern(pattern: &str) -> Result<()> {
    check_name(pattern, true)
        .map_err(|reason| Error::invalid_name("index pattern", pattern, reason))
}

/// Checks an index prefix (which may be empty, or end in any allowed character).
///
/// ```
/// use esrecord::naming::validate_prefix;
/// assert!(validate_prefix("prod-").is_ok());
/// assert!(validate_prefix("Prod-").is_err());
/// ```
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    check_name(prefix, false).map_err(|reason| Error::invalid_name("index prefix", prefix, reason))
}

/// The rule itself. `esrecord-derive` applies the same rule to attribute
/// literals at compile time (`derive/src/attr.rs`, `index_name_problem`).
fn check_name(name: &str, allow_star: bool) -> Result<(), String> {
    const FORBIDDEN: &[char] = &['\\', '/', '*', '?', '"', '<', '>', '|', ',', '#', ' ', ':'];
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name == "." || name == ".." {
        return Err("`.` and `..` are reserved".into());
    }
    if name.len() > 255 {
        return Err(format!("it is {} bytes long; the limit is 255", name.len()));
    }
    if let Some(first) = name.chars().next().filter(|c| matches!(c, '-' | '_' | '+')) {
        return Err(format!("it starts with `{first}`"));
    }
    if let Some(c) = name.chars().find(|c| c.is_uppercase()) {
        return Err(format!(
            "it contains the uppercase `{c}`; names must be lowercase"
        ));
    }
    let bad = |c: &char| c.is_control() || (FORBIDDEN.contains(c) && !(allow_star && *c == '*'));
    if let Some(c) = name.chars().find(bad) {
        return Err(format!("it contains the forbidden character {c:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        for good in ["a", "shop_pageview_2024.03.05", "prod-shop", "x.y", "café"] {
            assert!(validate_index_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", ".", "..", "Shop", "-a", "_a", "+a", "a b", "a*", "a?", "a\"b", "a<", "a>", "a|",
            "a,", "a#", "a/b", "a\\b", "a:b", "a\nb",
        ] {
            assert!(validate_index_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_index_name(&"a".repeat(255)).is_ok());
        assert!(validate_index_name(&"a".repeat(256)).is_err());
        assert!(validate_pattern("a_*").is_ok());
        assert!(validate_prefix("").is_ok());
    }
}
