//! What the derive and the runtime both know, written once: the index-name
//! rule and the values of the `timedepth`, `dynamic`, `retention` and
//! `time_series_metric` attributes.
//!
//! `esrecord-derive` compiles these files as its own module through the
//! symlink `derive/src/shared` (as serde_derive_internals shares
//! serde_derive's sources), so that an attribute is refused at compile time
//! by the very rule the runtime applies. They use `std` only: the proc macro
//! has no chrono or serde_json to offer. What needs those (partition
//! arithmetic and index suffixes for [`Timedepth`], the JSON of
//! [`Dynamic`]) lives in the runtime's own files, in `impl` blocks on these
//! types. No doctests here: the derive crate would run them without the
//! runtime.

mod dynamic;
pub(crate) mod names;
mod retention;
mod time_series;
mod timedepth;

pub use self::dynamic::Dynamic;
pub use self::retention::{Retention, RetentionUnit};
pub use self::time_series::TimeSeriesMetric;
pub use self::timedepth::Timedepth;
