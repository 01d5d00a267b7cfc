//! `timedepth`: how finely a record type's indexes are partitioned in time.

use std::fmt;
use std::str::FromStr;

/// How finely a record type's indexes are partitioned in time.
///
/// It is written in lowercase in the `timedepth` attribute; configuration
/// (`default_timedepth`) accepts any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Timedepth {
    /// One index per year: `_2024`.
    Year,
    /// One index per month: `_2024.03`.
    Month,
    /// One index per day (the default): `_2024.03.05`.
    #[default]
    Day,
    /// One index per hour: `_2024.03.05.07`.
    Hour,
}

impl Timedepth {
    /// Every timedepth, coarsest first.
    pub const ALL: [Timedepth; 4] = [
        Timedepth::Year,
        Timedepth::Month,
        Timedepth::Day,
        Timedepth::Hour,
    ];

    /// The lowercase name used in attributes and configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            Timedepth::Year => "year",
            Timedepth::Month => "month",
            Timedepth::Day => "day",
            Timedepth::Hour => "hour",
        }
    }

    /// The timedepth named exactly `name` (`"year"`, `"month"`, `"day"` or
    /// `"hour"`), as the `timedepth` attribute takes it; `None` for any
    /// other text. [`str::parse`] also accepts other cases.
    pub fn from_name(name: &str) -> Option<Timedepth> {
        Timedepth::ALL
            .into_iter()
            .find(|depth| depth.as_str() == name)
    }
}

impl fmt::Display for Timedepth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Timedepth {
    type Err = String;

    /// A timedepth's name in any case (`"month"`, `"Month"`), as
    /// configuration and the command line take it.
    fn from_str(s: &str) -> Result<Self, String> {
        Timedepth::ALL
            .into_iter()
            .find(|depth| depth.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown timedepth {s:?}; use one of year, month, day, hour"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for depth in Timedepth::ALL {
            assert_eq!(Timedepth::from_name(depth.as_str()), Some(depth));
            assert_eq!(depth.as_str().parse::<Timedepth>(), Ok(depth));
            assert_eq!(depth.to_string(), depth.as_str());
        }
        assert_eq!("month".parse(), Ok(Timedepth::Month));
        assert_eq!(Timedepth::default(), Timedepth::Day);
        assert!(Timedepth::ALL.is_sorted(), "coarsest first");
    }

    #[test]
    fn the_attribute_takes_lowercase_names_and_configuration_any_case() {
        assert_eq!(Timedepth::from_name("Month"), None);
        assert_eq!("Month".parse(), Ok(Timedepth::Month));
        assert_eq!("HOUR".parse(), Ok(Timedepth::Hour));
        for bad in ["", "week", "days", " day", "minute"] {
            assert_eq!(Timedepth::from_name(bad), None, "{bad:?}");
            let error = bad.parse::<Timedepth>().unwrap_err();
            assert_eq!(
                error,
                format!("unknown timedepth {bad:?}; use one of year, month, day, hour")
            );
        }
    }
}
