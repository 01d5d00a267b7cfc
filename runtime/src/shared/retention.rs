//! `retention`: how long a record type's partitions are kept, written as a
//! whole number and a unit (`"90d"`, `"12h"`, `"2w"`, `"30m"`, `"45s"`).

use std::fmt;

/// The unit of a [`Retention`]: the letter after the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RetentionUnit {
    /// `s`.
    Seconds,
    /// `m`.
    Minutes,
    /// `h`.
    Hours,
    /// `d`.
    Days,
    /// `w`.
    Weeks,
}

impl RetentionUnit {
    /// Every unit, shortest first.
    pub const ALL: [RetentionUnit; 5] = [
        RetentionUnit::Seconds,
        RetentionUnit::Minutes,
        RetentionUnit::Hours,
        RetentionUnit::Days,
        RetentionUnit::Weeks,
    ];

    /// The letter that writes the unit: `"s"`, `"m"`, `"h"`, `"d"` or `"w"`.
    pub const fn suffix(self) -> &'static str {
        match self {
            RetentionUnit::Seconds => "s",
            RetentionUnit::Minutes => "m",
            RetentionUnit::Hours => "h",
            RetentionUnit::Days => "d",
            RetentionUnit::Weeks => "w",
        }
    }

    /// The length of one unit in seconds.
    pub const fn seconds(self) -> u64 {
        match self {
            RetentionUnit::Seconds => 1,
            RetentionUnit::Minutes => 60,
            RetentionUnit::Hours => 3_600,
            RetentionUnit::Days => 86_400,
            RetentionUnit::Weeks => 604_800,
        }
    }
}

/// How long a type's partitions are kept, from `retention = "90d"`: a whole
/// number of seconds, minutes, hours, days or weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Retention {
    amount: u64,
    unit: RetentionUnit,
}

impl Retention {
    /// `amount` of `unit`; the derive builds one from the attribute, and
    /// this builds one by hand. [`Retention::parse`] refuses what cannot be
    /// written in the attribute (zero, and lengths beyond `u64` seconds).
    pub const fn new(amount: u64, unit: RetentionUnit) -> Retention {
        Retention { amount, unit }
    }

    /// A retention written as a whole number above zero and a unit letter,
    /// with nothing between or around them: `"90d"`, `"12h"`, `"2w"`,
    /// `"30m"`, `"45s"`. `None` for anything else (`"90"`, `"0d"`,
    /// `"1.5d"`, `"90 days"`), and for lengths beyond `u64` seconds.
    pub fn parse(text: &str) -> Option<Retention> {
        let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
        let (number, suffix) = text.split_at(unit_at);
        let amount: u64 = number.parse().ok().filter(|n| *n > 0)?;
        let unit = RetentionUnit::ALL
            .into_iter()
            .find(|unit| unit.suffix() == suffix)?;
        amount.checked_mul(unit.seconds())?;
        Some(Retention { amount, unit })
    }

    /// The number before the unit: 90 in `"90d"`.
    pub const fn amount(&self) -> u64 {
        self.amount
    }

    /// The unit: days in `"90d"`.
    pub const fn unit(&self) -> RetentionUnit {
        self.unit
    }

    /// The length in seconds (saturating, for one built by hand beyond
    /// `u64` seconds).
    pub const fn seconds(&self) -> u64 {
        self.amount.saturating_mul(self.unit.seconds())
    }
}

impl fmt::Display for Retention {
    /// As the attribute writes it: `90d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.suffix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit() {
        let cases = [
            ("45s", 45, RetentionUnit::Seconds, 45),
            ("30m", 30, RetentionUnit::Minutes, 30 * 60),
            ("12h", 12, RetentionUnit::Hours, 12 * 3_600),
            ("90d", 90, RetentionUnit::Days, 90 * 86_400),
            ("2w", 2, RetentionUnit::Weeks, 2 * 604_800),
        ];
        for (text, amount, unit, seconds) in cases {
            let retention = Retention::parse(text).unwrap();
            assert_eq!(retention, Retention::new(amount, unit), "{text}");
            assert_eq!(
                (retention.amount(), retention.unit()),
                (amount, unit),
                "{text}"
            );
            assert_eq!(retention.seconds(), seconds, "{text}");
            assert_eq!(retention.to_string(), text);
        }
    }

    #[test]
    fn refused() {
        for bad in [
            "",
            "d",
            "90",
            "0d",
            "00d",
            "90x",
            "90D",
            "90dd",
            "1.5d",
            "-1d",
            "+1d",
            " 90d",
            "90d ",
            "90 d",
            "90 days",
            "99999999999999999999d",
        ] {
            assert_eq!(Retention::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_longest_length_fits_in_u64_seconds() {
        let weeks = u64::MAX / RetentionUnit::Weeks.seconds();
        let longest = Retention::parse(&format!("{weeks}w")).unwrap();
        assert_eq!(longest.seconds(), weeks * 604_800);
        assert_eq!(Retention::parse(&format!("{}w", weeks + 1)), None);
        assert_eq!(
            Retention::parse(&format!("{}s", u64::MAX))
                .unwrap()
                .seconds(),
            u64::MAX
        );
        assert_eq!(
            Retention::new(u64::MAX, RetentionUnit::Days).seconds(),
            u64::MAX
        );
    }
}
