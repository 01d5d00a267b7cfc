//! `dynamic`: what an index mapping does with fields it does not declare.

use std::fmt;

/// What the mapping does with fields it does not declare (the mapping's
/// `dynamic` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dynamic {
    /// Reject documents with undeclared fields (the default).
    #[default]
    Strict,
    /// Add undeclared fields to the mapping.
    True,
    /// Keep undeclared fields in `_source` without indexing them.
    False,
    /// Map undeclared fields as runtime fields.
    Runtime,
}

impl Dynamic {
    /// Every setting, in the order the attribute's error lists them.
    pub const ALL: [Dynamic; 4] = [
        Dynamic::Strict,
        Dynamic::True,
        Dynamic::False,
        Dynamic::Runtime,
    ];

    /// The setting as written in the attribute: `"strict"`, `"true"`,
    /// `"false"` or `"runtime"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Dynamic::Strict => "strict",
            Dynamic::True => "true",
            Dynamic::False => "false",
            Dynamic::Runtime => "runtime",
        }
    }

    /// The setting written exactly as `name` (the attribute's
    /// `dynamic = false` is the text `"false"`); `None` for any other text.
    pub fn from_name(name: &str) -> Option<Dynamic> {
        Dynamic::ALL
            .into_iter()
            .find(|dynamic| dynamic.as_str() == name)
    }
}

impl fmt::Display for Dynamic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for dynamic in Dynamic::ALL {
            assert_eq!(Dynamic::from_name(dynamic.as_str()), Some(dynamic));
            assert_eq!(dynamic.to_string(), dynamic.as_str());
        }
        assert_eq!(Dynamic::default(), Dynamic::Strict);
        for bad in ["", "lenient", "Strict", "TRUE", "0"] {
            assert_eq!(Dynamic::from_name(bad), None, "{bad:?}");
        }
    }
}
