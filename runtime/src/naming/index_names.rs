//! Whether a name can be an index name, template name, pattern or prefix:
//! the index-name rule (`shared/names.rs`, which the derive applies to
//! attribute literals too), with errors that say what the name was for.

use crate::error::{Error, Result};
use crate::shared::names::{NameProblem, check_name, check_template_name};

/// Checks a name against Elasticsearch's index-name rules: lowercase; none of
/// `\ / * ? " < > | , # :`, space or control characters; not starting with
/// `-`, `_`, `+` or `.` (dot-prefixed names are Elasticsearch's hidden and
/// system indices, and hidden files to the embedded engine); at most 255
/// bytes.
///
/// ```
/// use esrecord::naming::validate_index_name;
/// assert!(validate_index_name("shop_pageview_2024.03.05").is_ok());
/// assert!(validate_index_name("_shop").is_err());
/// assert!(validate_index_name(".shop").is_err());
/// ```
pub fn validate_index_name(name: &str) -> Result<()> {
    check_name(name, false).map_err(|problem| invalid("index name", name, problem))
}

/// Checks an index pattern: the index-name rules, with `*` allowed.
///
/// ```
/// use esrecord::naming::validate_pattern;
/// assert!(validate_pattern("shop_pageview_*").is_ok());
/// assert!(validate_pattern("shop pageview_*").is_err());
/// ```
pub fn validate_pattern(pattern: &str) -> Result<()> {
    check_name(pattern, true).map_err(|problem| invalid("index pattern", pattern, problem))
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
    check_name(prefix, false).map_err(|problem| invalid("index prefix", prefix, problem))
}

/// Checks a record type's template name: the index-name rules, and for a
/// time-partitioned type room for the time suffix of its index names
/// (`_2024.03.05.07`, 14 bytes, so at most 241 bytes).
pub(crate) fn validate_template_name(name: &str, partitioned: bool) -> Result<()> {
    check_template_name(name, partitioned)
        .map_err(|problem| invalid("template name", name, problem))
}

fn invalid(what: &'static str, name: &str, problem: NameProblem) -> Error {
    Error::invalid_name(what, name, problem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The rule's cases are in `shared/names.rs`; these check what each
    // check applies it to and how it reports.
    #[test]
    fn each_check_names_what_it_checked() {
        let error = validate_index_name("Shop").unwrap_err();
        assert!(
            matches!(&error, Error::InvalidName { what: "index name", name, .. } if name == "Shop")
        );
        assert_eq!(
            error.to_string(),
            "invalid index name \"Shop\": it has uppercase letters; index names are lowercase: \"shop\"; choose a name of lowercase letters, digits, `_`, `-` and `.`"
        );
        assert!(matches!(
            validate_pattern("a b_*"),
            Err(Error::InvalidName {
                what: "index pattern",
                ..
            })
        ));
        assert!(validate_pattern("a_*").is_ok());
        assert!(validate_index_name("a_*").is_err());
        assert!(validate_prefix("").is_ok());
        assert!(matches!(
            validate_prefix(".hidden-"),
            Err(Error::InvalidName {
                what: "index prefix",
                ..
            })
        ));
        assert!(validate_template_name(&"a".repeat(241), true).is_ok());
        assert!(matches!(
            validate_template_name(&"a".repeat(242), true),
            Err(Error::InvalidName {
                what: "template name",
                ..
            })
        ));
        assert!(validate_template_name(&"a".repeat(255), false).is_ok());
    }
}
