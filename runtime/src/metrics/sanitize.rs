//! Sanitizing of metric names and tag keys.

/// How metric names and tag keys are cleaned before they are stored.
///
/// Whatever the mode, a name is then made safe for the stored document:
/// empty dotted parts are dropped (`a..b` becomes `a.b`: a tag key's dots
/// are levels of the `tags` field), and leading `_` are dropped
/// (Elasticsearch keeps `_` names for its own fields). A name with nothing
/// left is refused.
///
/// ```
/// use esrecord::metrics::Sanitize;
///
/// assert_eq!(Sanitize::Esrecord.apply("http requests/s").as_deref(), Some("http_requests/s"));
/// assert_eq!(Sanitize::Prometheus.apply("http.requests").as_deref(), Some("http_requests"));
/// assert_eq!(Sanitize::None.apply("..."), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sanitize {
    /// Names are kept as given (then made safe, as above).
    None,
    /// Letters (Unicode included), digits, `.`, `-`, `_` and `/` are kept;
    /// anything else becomes `_`. The default.
    #[default]
    Esrecord,
    /// Prometheus' rule, `[a-zA-Z_][a-zA-Z0-9_]*`: anything else becomes
    /// `_`, and a leading digit gets a `_` before it.
    Prometheus,
}

impl Sanitize {
    /// Reads `none`, `esrecord` or `prometheus` (as in `esrecord.toml`).
    pub fn from_name(name: &str) -> Option<Sanitize> {
        match name {
            "none" => Some(Sanitize::None),
            "esrecord" => Some(Sanitize::Esrecord),
            "prometheus" => Some(Sanitize::Prometheus),
            _ => None,
        }
    }

    /// The cleaned name, or `None` when nothing storable is left.
    pub fn apply(self, name: &str) -> Option<String> {
        let cleaned: String = match self {
            Sanitize::None => name.to_owned(),
            Sanitize::Esrecord => name
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '/') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect(),
            Sanitize::Prometheus => {
                let body: String = name
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                if body.starts_with(|c: char| c.is_ascii_digit()) {
                    format!("_{body}")
                } else {
                    body
                }
            }
        };
        storable(&cleaned, self == Sanitize::Prometheus)
    }
}

/// `name` without empty dotted parts and (unless `keep_underscore`, for
/// Prometheus names where it is part of the alphabet) leading `_`.
fn storable(name: &str, keep_underscore: bool) -> Option<String> {
    let joined = name
        .split('.')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    let fixed = if keep_underscore {
        joined.as_str()
    } else {
        joined.trim_start_matches('_')
    };
    let fixed = fixed.trim_start_matches('.');
    (!fixed.is_empty() && !fixed.contains(['\u{0}', '\u{1}'])).then(|| fixed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_over_a_table_of_names() {
        type Expected = Option<&'static str>;
        let cases: [(&str, Expected, Expected, Expected); 10] = [
            // name, none, esrecord, prometheus
            ("orders", Some("orders"), Some("orders"), Some("orders")),
            (
                "http.requests",
                Some("http.requests"),
                Some("http.requests"),
                Some("http_requests"),
            ),
            (
                "latency ms",
                Some("latency ms"),
                Some("latency_ms"),
                Some("latency_ms"),
            ),
            (
                "größe/µs",
                Some("größe/µs"),
                Some("größe/µs"),
                Some("gr__e__s"),
            ),
            ("a-b_c", Some("a-b_c"), Some("a-b_c"), Some("a_b_c")),
            ("9lives", Some("9lives"), Some("9lives"), Some("_9lives")),
            ("a..b.", Some("a.b"), Some("a.b"), Some("a__b_")),
            ("_id", Some("id"), Some("id"), Some("_id")),
            ("", None, None, None),
            ("...", None, None, Some("___")),
        ];
        for (name, none, esrecord, prometheus) in cases {
            assert_eq!(Sanitize::None.apply(name).as_deref(), none, "none {name:?}");
            assert_eq!(
                Sanitize::Esrecord.apply(name).as_deref(),
                esrecord,
                "esrecord {name:?}"
            );
            assert_eq!(
                Sanitize::Prometheus.apply(name).as_deref(),
                prometheus,
                "prometheus {name:?}"
            );
        }
    }

    #[test]
    fn modes_are_read_by_name() {
        assert_eq!(
            Sanitize::from_name("prometheus"),
            Some(Sanitize::Prometheus)
        );
        assert_eq!(Sanitize::from_name("Prometheus"), None);
    }
}
