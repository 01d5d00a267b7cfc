//! The condition of a rule: `> 250`, `<= 0.5`, `== 0`, `between 100 and
//! 200`, `> baseline + 3 sigma`.

use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// The operator whose comparison holds exactly when this one's does
    /// not: `<` for `>=`.
    fn negated(self) -> Op {
        match self {
            Op::Lt => Op::Ge,
            Op::Le => Op::Gt,
            Op::Gt => Op::Le,
            Op::Ge => Op::Lt,
            Op::Eq => Op::Ne,
            Op::Ne => Op::Eq,
        }
    }

    fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Op::Lt => value < limit,
            Op::Le => value <= limit,
            Op::Gt => value > limit,
            Op::Ge => value >= limit,
            Op::Eq => value == limit,
            Op::Ne => value != limit,
        }
    }
}

/// What the observed value is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// `op number`.
    Number(Op, f64),
    /// `between low and high` (both included).
    Between(f64, f64),
    /// `op baseline + k sigma` (`k` negative for `- k sigma`): the mean of
    /// the previous windows plus `k` standard deviations.
    Baseline(Op, f64),
}

/// A rule's condition, in the sense the rules file gave it: `when` (it
/// fires when the comparison holds) or `must` (it fires when the comparison
/// does not hold, as daktylos' rules state what must be true).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    /// The comparison as written.
    pub limit: Limit,
    /// Whether it fires when the comparison holds (`when`) or fails (`must`).
    pub fires_when_true: bool,
}

/// The value the observed value was compared with: a number, a range, or
/// the baseline's mean and deviation with the limit they give.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A fixed number.
    Number(f64),
    /// `between low and high`.
    Between(f64, f64),
    /// The mean and standard deviation of the previous windows, and
    /// `mean + k * sigma`.
    Baseline {
        /// The mean of the previous windows.
        mean: f64,
        /// Their (population) standard deviation.
        sigma: f64,
        /// `mean + k * sigma`.
        limit: f64,
    },
}

impl Condition {
    /// Parses `text` (what follows `when:` or `must:`).
    pub(super) fn parse(text: &str, fires_when_true: bool) -> Result<Condition, String> {
        let limit = parse_limit(text.trim())?;
        Ok(Condition {
            limit,
            fires_when_true,
        })
    }

    /// The threshold the condition names by itself: its number or range;
    /// `None` for a baseline, which the windows before give.
    pub(super) fn fixed_threshold(&self) -> Option<Threshold> {
        match self.limit {
            Limit::Number(_, n) => Some(Threshold::Number(n)),
            Limit::Between(low, high) => Some(Threshold::Between(low, high)),
            Limit::Baseline(..) => None,
        }
    }

    /// Whether the condition compares with a baseline.
    pub fn uses_baseline(&self) -> bool {
        matches!(self.limit, Limit::Baseline(..))
    }

    /// Whether `observed` (with the baseline's mean and sigma, for a
    /// baseline condition) makes the rule fire, and what it was compared
    /// with. NaN fires every rule: a number that is not a number is wrong.
    pub(super) fn fires(&self, observed: f64, baseline: Option<(f64, f64)>) -> (bool, Threshold) {
        let (holds, threshold) = match self.limit {
            Limit::Number(op, limit) => (op.holds(observed, limit), Threshold::Number(limit)),
            Limit::Between(low, high) => (
                low <= observed && observed <= high,
                Threshold::Between(low, high),
            ),
            Limit::Baseline(op, k) => {
                let (mean, sigma) = baseline.unwrap_or((f64::NAN, f64::NAN));
                let limit = mean + k * sigma;
                (
                    op.holds(observed, limit),
                    Threshold::Baseline { mean, sigma, limit },
                )
            }
        };
        let fires = observed.is_nan() || holds == self.fires_when_true;
        (fires, threshold)
    }

    /// What a firing observation breaks, for messages: `> 250` for `when: >
    /// 250`, `>= 100` for `must: < 100`, `outside 1 and 5` for `must:
    /// between 1 and 5`.
    pub(super) fn describe_firing(&self, threshold: &Threshold) -> String {
        let op = |op: Op| {
            if self.fires_when_true {
                op
            } else {
                op.negated()
            }
        };
        match (self.limit, threshold) {
            (Limit::Number(o, _), Threshold::Number(n)) => {
                format!("{} {}", op(o).symbol(), number(*n))
            }
            (Limit::Between(..), Threshold::Between(low, high)) => {
                let word = if self.fires_when_true {
                    "between"
                } else {
                    "outside"
                };
                format!("{word} {} and {}", number(*low), number(*high))
            }
            (Limit::Baseline(o, k), Threshold::Baseline { mean, sigma, limit }) => format!(
                "{} {} (baseline {} {} {} sigma, sigma {})",
                op(o).symbol(),
                number(*limit),
                number(*mean),
                if k < 0.0 { "-" } else { "+" },
                number(k.abs()),
                number(*sigma)
            ),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sense = if self.fires_when_true { "when" } else { "must" };
        match self.limit {
            Limit::Number(op, n) => write!(f, "{sense} {} {}", op.symbol(), number(n)),
            Limit::Between(low, high) => {
                write!(f, "{sense} between {} and {}", number(low), number(high))
            }
            Limit::Baseline(op, k) => write!(
                f,
                "{sense} {} baseline {} {} sigma",
                op.symbol(),
                if k < 0.0 { "-" } else { "+" },
                number(k.abs())
            ),
        }
    }
}

/// A number as messages show it: four significant digits, at most six
/// decimals, no trailing zeros (`312.4`, `61.29`, `250`, `0.3333`).
pub(crate) fn number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let magnitude = if value == 0.0 {
        0
    } else {
        value.abs().log10().floor() as i32
    };
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

const HELP: &str = "write an operator and a number (`> 250`, `<= 0.5`, `== 0`, `!= 1`), `between 100 and 200`, or a baseline (`> baseline + 3 sigma`, `< baseline - 2 sigma`)";

fn parse_limit(text: &str) -> Result<Limit, String> {
    if let Some(rest) = text.strip_prefix("between ") {
        let (low, high) = rest
            .split_once(" and ")
            .ok_or_else(|| format!("condition `{text}`: {HELP}"))?;
        let (low, high) = (parse_number(low, text)?, parse_number(high, text)?);
        if low > high {
            return Err(format!(
                "condition `{text}`: the lower bound {} is above the upper bound {}; write `between {} and {}`",
                number(low),
                number(high),
                number(high),
                number(low)
            ));
        }
        return Ok(Limit::Between(low, high));
    }
    let (op, rest) = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ]
    .into_iter()
    .find_map(|(symbol, op)| text.strip_prefix(symbol).map(|rest| (op, rest.trim())))
    .ok_or_else(|| {
        if text.starts_with('=') {
            format!("condition `{text}`: equality is written `==`")
        } else {
            format!("condition `{text}`: {HELP}")
        }
    })?;
    if let Some(sigma) = rest.strip_prefix("baseline") {
        return parse_sigma(sigma.trim(), text).map(|k| Limit::Baseline(op, k));
    }
    parse_number(rest, text).map(|n| Limit::Number(op, n))
}

/// `+ 3 sigma`, `- 2 sigma`, or nothing (the mean itself).
fn parse_sigma(text: &str, condition: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Ok(0.0);
    }
    let bad = || {
        format!(
            "condition `{condition}`: after `baseline`, write `+ K sigma` or `- K sigma` (`> baseline + 3 sigma`)"
        )
    };
    let (sign, rest) = match text.chars().next() {
        Some('+') => (1.0, &text[1..]),
        Some('-') => (-1.0, &text[1..]),
        _ => return Err(bad()),
    };
    let k = rest
        .trim()
        .strip_suffix("sigma")
        .ok_or_else(bad)?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|k| k.is_finite() && *k >= 0.0)
        .ok_or_else(bad)?;
    Ok(sign * k)
}

fn parse_number(text: &str, condition: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| {
            format!(
                "condition `{condition}`: `{}` is not a number; {HELP}",
                text.trim()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fires(condition: &str, must: bool, value: f64) -> bool {
        Condition::parse(condition, !must)
            .unwrap_or_else(|e| panic!("{e}"))
            .fires(value, None)
            .0
    }

    #[test]
    fn daktylos_operator_table() {
        // Limit 100, the rule stating what must hold.
        assert!(fires("< 100", true, 110.0) && fires("< 100", true, 100.0));
        assert!(!fires("< 100", true, 99.0));
        assert!(fires("<= 100", true, 110.0) && !fires("<= 100", true, 100.0));
        assert!(fires("> 100", true, 90.0) && fires("> 100", true, 100.0));
        assert!(!fires("> 100", true, 101.0));
        assert!(fires(">= 100", true, 99.0) && !fires(">= 100", true, 100.0));
    }

    #[test]
    fn when_fires_when_it_holds() {
        assert!(fires("> 250", false, 312.4) && !fires("> 250", false, 250.0));
        assert!(fires("== 0", false, 0.0) && !fires("== 0", false, 0.5));
        assert!(fires("!= 0", false, 0.5) && !fires("!= 0", false, 0.0));
        assert!(fires("between 1 and 5", false, 1.0) && fires("between 1 and 5", false, 5.0));
        assert!(!fires("between 1 and 5", false, 5.5));
        assert!(fires("between 1 and 5", true, 0.5) && !fires("between 1 and 5", true, 3.0));
    }

    #[test]
    fn nan_always_fires() {
        assert!(fires("> 250", false, f64::NAN));
        assert!(fires("< 100", true, f64::NAN));
        assert!(fires("!= 0", true, f64::NAN));
    }

    #[test]
    fn baselines() {
        let rule = Condition::parse("> baseline + 3 sigma", true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rule.limit, Limit::Baseline(Op::Gt, 3.0));
        let (fires, threshold) = rule.fires(17.0, Some((10.0, 2.0)));
        assert!(fires);
        assert_eq!(
            threshold,
            Threshold::Baseline {
                mean: 10.0,
                sigma: 2.0,
                limit: 16.0
            }
        );
        assert!(!rule.fires(16.0, Some((10.0, 2.0))).0);
        let below =
            Condition::parse("< baseline - 2 sigma", true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(below.limit, Limit::Baseline(Op::Lt, -2.0));
    }

    #[test]
    fn bad_conditions_say_what_to_write() {
        for (text, expected) in [
            ("250", "write an operator"),
            ("= 3", "equality is written `==`"),
            ("> lots", "`lots` is not a number"),
            ("> NaN", "`NaN` is not a number"),
            ("between 5 and 1", "write `between 1 and 5`"),
            ("between 5", "write an operator"),
            ("> baseline * 3", "write `+ K sigma`"),
        ] {
            let error = Condition::parse(text, true).err().unwrap_or_default();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn numbers_in_messages() {
        assert_eq!(number(312.4), "312.4");
        assert_eq!(number(250.0), "250");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(1.0 / 3.0), "0.3333");
        assert_eq!(number(61.29473), "61.29");
        assert_eq!(number(1_000_000.0), "1000000");
        assert_eq!(number(0.000_012_34), "0.000012");
    }
}
