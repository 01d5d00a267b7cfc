//! The index-name rule, for every name esrecord builds or is given: index
//! names, template names, patterns and prefixes.

use std::fmt;

/// Elasticsearch's rule for index names, applied to every name esrecord
/// makes: lowercase; none of `\ / * ? " < > | , # :`, space or control
/// characters (`*` only in patterns); not starting with `-`, `_`, `+` or
/// `.`; at most [`MAX_NAME_BYTES`] bytes of UTF-8. The derive applies it to
/// attribute literals at compile time and the runtime to names built at
/// run time (prefixes, template names, patterns, partitions), so a name
/// accepted by one is accepted by the other.
///
/// Two choices go beyond what Elasticsearch refuses outright:
///
/// - A leading `.` is refused, in every name. Elasticsearch reserves
///   dot-prefixed names for hidden and system indices (it warns about any
///   other), and the embedded engine keeps templates and partitions as
///   directory entries, where a leading dot hides them: such an index would
///   be written and then never listed. This also refuses `.` and `..`.
/// - A time-partitioned type's template name must leave room for the time
///   suffix its index names add (`_2024.03.05.07`, [`PARTITION_SUFFIX_BYTES`]):
///   it is at most [`MAX_PARTITIONED_TEMPLATE_NAME_BYTES`] bytes (see
///   [`check_template_name`]). The derive checks the template name its
///   attributes make; the runtime checks it again with the backend's prefix.
///   (The derive used to refuse each literal over 200 bytes, a guess that
///   refused some valid names and let through `app_label` and `name`
///   that are too long together.)
pub(crate) const MAX_NAME_BYTES: usize = 255;

/// The longest time suffix a partition adds to its template name: `_` and
/// an hour's time parts, `_2024.03.05.07` (years have four digits).
pub(crate) const PARTITION_SUFFIX_BYTES: usize = "_2024.03.05.07".len();

/// The longest template name of a time-partitioned type, so that its
/// longest index names fit in [`MAX_NAME_BYTES`].
pub(crate) const MAX_PARTITIONED_TEMPLATE_NAME_BYTES: usize =
    MAX_NAME_BYTES - PARTITION_SUFFIX_BYTES;

/// The characters no name may contain (but `*` in a pattern).
pub(crate) const FORBIDDEN: [char; 12] =
    ['\\', '/', '*', '?', '"', '<', '>', '|', ',', '#', ' ', ':'];

/// The characters no name may start with.
pub(crate) const FORBIDDEN_FIRST: [char; 4] = ['-', '_', '+', '.'];

/// Which part of the rule a name breaks; its `Display` is the reason that
/// follows `invalid {what} {name:?}: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NameProblem {
    Empty,
    /// Longer than `limit` bytes.
    TooLong {
        bytes: usize,
        limit: usize,
    },
    /// Starts with one of [`FORBIDDEN_FIRST`].
    Start(char),
    /// Has uppercase letters; `lowercase` is the name in lowercase.
    Uppercase {
        lowercase: String,
    },
    /// Has one of [`FORBIDDEN`].
    Forbidden(char),
    Control(char),
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameProblem::Empty => f.write_str("it is empty"),
            NameProblem::TooLong { bytes, limit } if *limit == MAX_NAME_BYTES => {
                write!(f, "it is {bytes} bytes long; the limit is {limit}")
            }
            NameProblem::TooLong { bytes, limit } => write!(
                f,
                "it is {bytes} bytes long; the index names of a time-partitioned type add up to {PARTITION_SUFFIX_BYTES} bytes (`_2024.03.05.07`) to it, so the limit is {limit}"
            ),
            NameProblem::Start(c) => {
                write!(f, "it starts with `{c}`; start with a letter or digit")
            }
            NameProblem::Uppercase { lowercase } => write!(
                f,
                "it has uppercase letters; index names are lowercase: {lowercase:?}"
            ),
            NameProblem::Forbidden(c) => write!(
                f,
                "it contains {c:?}; index names cannot contain \\ / * ? \" < > | , # : or spaces"
            ),
            NameProblem::Control(c) => write!(
                f,
                "it contains the control character {c:?}; index names cannot contain any"
            ),
        }
    }
}

/// Checks `name` against the rule ([`MAX_NAME_BYTES`]); `allow_star` for a
/// pattern, in which `*` stands for any run of characters.
pub(crate) fn check_name(name: &str, allow_star: bool) -> Result<(), NameProblem> {
    check_name_within(name, allow_star, MAX_NAME_BYTES)
}

/// Checks a record type's template name: the rule, and for a
/// time-partitioned type room for its partitions' time suffix
/// ([`MAX_PARTITIONED_TEMPLATE_NAME_BYTES`]). A simple type's one index
/// has the template's name, so it may take all [`MAX_NAME_BYTES`].
pub(crate) fn check_template_name(name: &str, partitioned: bool) -> Result<(), NameProblem> {
    let limit = if partitioned {
        MAX_PARTITIONED_TEMPLATE_NAME_BYTES
    } else {
        MAX_NAME_BYTES
    };
    check_name_within(name, false, limit)
}

fn check_name_within(name: &str, allow_star: bool, limit: usize) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    if name.len() > limit {
        return Err(NameProblem::TooLong {
            bytes: name.len(),
            limit,
        });
    }
    if let Some(first) = name.chars().next().filter(|c| FORBIDDEN_FIRST.contains(c)) {
        return Err(NameProblem::Start(first));
    }
    if name.chars().any(char::is_uppercase) {
        return Err(NameProblem::Uppercase {
            lowercase: name.to_lowercase(),
        });
    }
    for c in name.chars() {
        if c.is_control() {
            return Err(NameProblem::Control(c));
        }
        if FORBIDDEN.contains(&c) && !(allow_star && c == '*') {
            return Err(NameProblem::Forbidden(c));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_255_bytes_of_utf8() {
        assert_eq!(check_name(&"a".repeat(255), false), Ok(()));
        assert_eq!(
            check_name(&"a".repeat(256), false),
            Err(NameProblem::TooLong {
                bytes: 256,
                limit: 255
            })
        );
        // Bytes, not characters: `é` is two.
        assert_eq!(check_name(&format!("a{}", "é".repeat(127)), false), Ok(()));
        assert!(matches!(
            check_name(&"é".repeat(128), false),
            Err(NameProblem::TooLong { bytes: 256, .. })
        ));
        assert_eq!(check_name(&"*".repeat(255), true), Ok(()));
        assert!(check_name(&"*".repeat(256), true).is_err());
    }

    #[test]
    fn a_partitioned_template_name_leaves_room_for_the_time_suffix() {
        assert_eq!(PARTITION_SUFFIX_BYTES, 14);
        assert_eq!(MAX_PARTITIONED_TEMPLATE_NAME_BYTES, 241);
        assert_eq!(check_template_name(&"a".repeat(241), true), Ok(()));
        assert_eq!(
            check_template_name(&"a".repeat(242), true),
            Err(NameProblem::TooLong {
                bytes: 242,
                limit: 241
            })
        );
        // The longest template name with the longest suffix is the longest index name.
        let index = format!("{}_9999.12.31.23", "a".repeat(241));
        assert_eq!(index.len(), MAX_NAME_BYTES);
        assert_eq!(check_name(&index, false), Ok(()));
        // A simple type's one index is named after its template.
        assert_eq!(check_template_name(&"a".repeat(255), false), Ok(()));
        assert!(check_template_name(&"a".repeat(256), false).is_err());
        assert!(check_template_name("a_*", false).is_err());
    }

    #[test]
    fn each_forbidden_character() {
        for c in FORBIDDEN {
            let name = format!("a{c}b");
            let want = Err(NameProblem::Forbidden(c));
            assert_eq!(check_name(&name, false), want, "{name:?}");
            let in_pattern = if c == '*' { Ok(()) } else { want };
            assert_eq!(check_name(&name, true), in_pattern, "{name:?}");
        }
        for c in ['\n', '\t', '\0', '\u{7f}'] {
            assert_eq!(
                check_name(&format!("a{c}b"), true),
                Err(NameProblem::Control(c))
            );
        }
    }

    #[test]
    fn leading_characters() {
        for c in FORBIDDEN_FIRST {
            assert_eq!(
                check_name(&format!("{c}shop"), false),
                Err(NameProblem::Start(c))
            );
            // Anywhere else they are allowed.
            assert_eq!(check_name(&format!("shop{c}2024"), false), Ok(()));
        }
        for name in [".", ".."] {
            assert_eq!(check_name(name, false), Err(NameProblem::Start('.')));
        }
        for name in ["shop", "0shop", "9", "café", "日本"] {
            assert_eq!(check_name(name, false), Ok(()), "{name}");
        }
        assert_eq!(check_name("*_shop", true), Ok(()));
    }

    #[test]
    fn lowercase_and_not_empty() {
        assert_eq!(check_name("", false), Err(NameProblem::Empty));
        assert_eq!(
            check_name("Shop", false),
            Err(NameProblem::Uppercase {
                lowercase: "shop".into()
            })
        );
        assert!(check_name("cafÉ", false).is_err());
    }

    #[test]
    fn reasons() {
        let reason = |name: &str| check_name(name, false).unwrap_err().to_string();
        assert_eq!(reason(""), "it is empty");
        assert_eq!(
            reason(&"a".repeat(300)),
            "it is 300 bytes long; the limit is 255"
        );
        assert_eq!(
            check_template_name(&"a".repeat(250), true)
                .unwrap_err()
                .to_string(),
            "it is 250 bytes long; the index names of a time-partitioned type add up to 14 bytes (`_2024.03.05.07`) to it, so the limit is 241"
        );
        assert_eq!(
            reason("_shop"),
            "it starts with `_`; start with a letter or digit"
        );
        assert_eq!(
            reason("Shop"),
            "it has uppercase letters; index names are lowercase: \"shop\""
        );
        assert_eq!(
            reason("page views"),
            "it contains ' '; index names cannot contain \\ / * ? \" < > | , # : or spaces"
        );
        assert_eq!(
            reason("a\nb"),
            "it contains the control character '\\n'; index names cannot contain any"
        );
    }
}
