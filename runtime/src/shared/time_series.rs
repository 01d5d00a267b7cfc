//! `time_series_metric`: how a numeric field of a time series data stream
//! behaves over time (Elasticsearch's `time_series_metric` mapping
//! parameter).

use std::fmt;

/// What a numeric field measures, for a time series data stream: a value
/// that goes up and down (`gauge`), or a running total that only grows
/// until it resets (`counter`). Downsampling keeps a gauge's min, max, sum
/// and count per interval, and a counter's last value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeSeriesMetric {
    /// A value that goes up and down.
    Gauge,
    /// A running total that only grows until it resets.
    Counter,
}

impl TimeSeriesMetric {
    /// Every kind, in the order the attribute's error lists them.
    pub const ALL: [TimeSeriesMetric; 2] = [TimeSeriesMetric::Gauge, TimeSeriesMetric::Counter];

    /// The kind as written in the attribute and the mapping.
    pub const fn as_str(self) -> &'static str {
        match self {
            TimeSeriesMetric::Gauge => "gauge",
            TimeSeriesMetric::Counter => "counter",
        }
    }

    /// The kind written exactly as `name`.
    pub fn from_name(name: &str) -> Option<TimeSeriesMetric> {
        TimeSeriesMetric::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for TimeSeriesMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in TimeSeriesMetric::ALL {
            assert_eq!(TimeSeriesMetric::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(TimeSeriesMetric::from_name("histogram"), None);
        assert_eq!(TimeSeriesMetric::from_name("Gauge"), None);
    }
}
