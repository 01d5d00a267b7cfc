//! Index names, time partitions and the patterns that cover a time range.
//!
//! A time-partitioned record type writes to one index per partition:
//! `{prefix}{app}_{type}_{timeparts}`, where the time parts are UTC and
//! zero-padded: `2024` (year), `2024.03` (month), `2024.03.05` (day),
//! `2024.03.05.07` (hour). Every name follows Elasticsearch's index-name
//! rules ([`validate_index_name`]). Searches name time ranges with
//! [`TimeBound`] and [`TimeRange`].

mod index_names;
mod partitions;
mod patterns;
pub(crate) mod time_range;

pub(crate) use self::index_names::validate_template_name;
pub use self::index_names::{validate_index_name, validate_pattern, validate_prefix};
pub use self::partitions::check_timestamp;
pub(crate) use self::partitions::{push_two_digits, push_year};
pub use self::patterns::{glob_matches, globs_overlap, patterns_covering};
// Public at the crate root, as `esrecord::TimeBound` and `esrecord::TimeRange`.
pub(crate) use self::time_range::{TimeBound, TimeRange};

/// Index names are built from ASCII digits and validated names only.
pub(crate) fn ascii_to_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
