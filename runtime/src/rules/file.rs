//! The rules file as YAML writes it, before it is checked against the
//! registry, and the line where each rule starts.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The whole file: `rules:`, a list of rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RulesFile {
    pub(super) rules: Vec<RuleSpec>,
}

/// One rule as written. [`super::rule::Rule::check`] turns it into a rule
/// or says what is wrong with it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleSpec {
    pub(super) name: Option<String>,
    #[serde(rename = "type")]
    pub(super) record_type: String,
    pub(super) field: Option<String>,
    #[serde(default)]
    pub(super) fields: Vec<String>,
    #[serde(default)]
    pub(super) exclude: Vec<String>,
    pub(super) summary: Option<String>,
    pub(super) window: Option<String>,
    pub(super) when: Option<String>,
    pub(super) must: Option<String>,
    #[serde(default, rename = "where")]
    pub(super) filters: BTreeMap<String, Value>,
    #[serde(default)]
    pub(super) group_by: Names,
    pub(super) level: Option<String>,
    #[serde(rename = "for")]
    pub(super) duration: Option<String>,
    pub(super) delta: Option<String>,
    pub(super) baseline: Option<u32>,
    pub(super) absent_for: Option<String>,
    pub(super) seen_within: Option<String>,
    pub(super) missing: Option<String>,
    pub(super) unit: Option<String>,
}

/// One name or a list of them: `group_by: path` or `group_by: [host, path]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub(super) enum Names {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl Names {
    pub(super) fn to_vec(&self) -> Vec<String> {
        match self {
            Names::None => Vec::new(),
            Names::One(name) => vec![name.clone()],
            Names::Many(names) => names.clone(),
        }
    }
}

/// A YAML error: its message and line (1-based), when it has one.
#[derive(Debug)]
pub(super) struct SyntaxError {
    pub(super) line: Option<usize>,
    pub(super) message: String,
}

/// Parses the file's text.
pub(super) fn parse(text: &str) -> Result<RulesFile, SyntaxError> {
    serde_norway::from_str(text).map_err(|error| {
        let line = error.location().map(|l| l.line());
        let mut message = error.to_string();
        // The line is given apart; leave it out of the message.
        if let Some(at) = message.rfind(" at line ") {
            message.truncate(at);
        }
        SyntaxError { line, message }
    })
}

/// The line (1-based) where rule `index` of `text` starts: the text is read
/// again up to that rule, which stops the reading there, and the YAML
/// reader's error says where.
pub(super) fn rule_line(text: &str, index: usize) -> Option<usize> {
    let reader = serde_norway::Deserializer::from_str(text);
    match FindRule(index).deserialize(reader) {
        Err(error) => error.location().map(|l| l.line()),
        Ok(()) => None,
    }
}

const FOUND: &str = "the rule is here";

struct FindRule(usize);

impl<'de> DeserializeSeed<'de> for FindRule {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, reader: D) -> Result<(), D::Error> {
        reader.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FindRule {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a rules file")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "rules" {
                return map.next_value_seed(FindInList(self.0));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

struct FindInList(usize);

impl<'de> DeserializeSeed<'de> for FindInList {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, reader: D) -> Result<(), D::Error> {
        reader.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FindInList {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of rules")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for _ in 0..self.0 {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Stop).map(|_| ())
    }
}

/// Fails as soon as the rule's mapping starts, so that the error carries
/// its position.
struct Stop;

impl<'de> DeserializeSeed<'de> for Stop {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, reader: D) -> Result<(), D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Stop {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a rule")
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# two rules
rules:
  - type: shop.pageview
    field: latency.p99_ms
    summary: p99

  - name: quiet
    type: shop.pageview
    absent_for: 10m
";

    #[test]
    fn rules_and_their_lines() {
        let file = parse(TEXT).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(file.rules.len(), 2);
        assert_eq!(file.rules[1].name.as_deref(), Some("quiet"));
        assert_eq!(rule_line(TEXT, 0), Some(3));
        assert_eq!(rule_line(TEXT, 1), Some(7));
        assert_eq!(rule_line(TEXT, 2), None);
    }

    #[test]
    fn unknown_keys_are_errors_with_the_line() {
        let error = parse("rules:\n  - type: a\n    windw: 5m\n").err();
        let error = error.unwrap_or_else(|| panic!("accepted"));
        assert_eq!(error.line, Some(3));
        assert!(
            error.message.contains("unknown field `windw`"),
            "{}",
            error.message
        );
    }
}
