//! Meter rates: Dropwizard's exponentially weighted moving averages.

use std::time::Duration;

/// How often a moving average takes in what was counted (Dropwizard's tick).
pub const TICK: Duration = Duration::from_secs(5);

/// One exponentially weighted moving rate, per second, as Dropwizard's
/// `EWMA`: every [`TICK`] the count since the last tick becomes an
/// instant rate, and `rate += alpha * (instant - rate)` with
/// `alpha = 1 - exp(-5 s / 60 s / minutes)`; the first tick sets the rate.
///
/// ```
/// use esrecord::metrics::Ewma;
///
/// let mut m1 = Ewma::minutes(1.0);
/// m1.mark(3);
/// m1.tick();
/// assert!((m1.rate() - 0.6).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ewma {
    alpha: f64,
    rate: Option<f64>,
    uncounted: u64,
}

impl Ewma {
    /// The moving average over `minutes` minutes.
    pub fn minutes(minutes: f64) -> Ewma {
        let alpha = 1.0 - (-TICK.as_secs_f64() / 60.0 / minutes).exp();
        Ewma {
            alpha,
            rate: None,
            uncounted: 0,
        }
    }

    /// Counts `n` events for the next tick.
    pub fn mark(&mut self, n: u64) {
        self.uncounted = self.uncounted.saturating_add(n);
    }

    /// Takes the events counted since the last tick into the rate.
    pub fn tick(&mut self) {
        let instant = self.uncounted as f64 / TICK.as_secs_f64();
        self.uncounted = 0;
        self.rate = Some(match self.rate {
            Some(rate) => rate + self.alpha * (instant - rate),
            None => instant,
        });
    }

    /// Events per second (0 before the first tick).
    pub fn rate(&self) -> f64 {
        self.rate.unwrap_or(0.0)
    }
}

/// A counter's rates: the mean since it was first seen and the 1, 5 and
/// 15 minute moving averages, ticked every [`TICK`] of reporting time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Meter {
    count: u64,
    elapsed: Duration,
    untick: Duration,
    m1: Ewma,
    m5: Ewma,
    m15: Ewma,
}

impl Meter {
    pub(crate) fn new() -> Meter {
        Meter {
            count: 0,
            elapsed: Duration::ZERO,
            untick: Duration::ZERO,
            m1: Ewma::minutes(1.0),
            m5: Ewma::minutes(5.0),
            m15: Ewma::minutes(15.0),
        }
    }

    /// Takes in one interval: `increase` events over `interval`. The
    /// events go into the first tick that falls in the interval, as
    /// Dropwizard's lazy ticking does when a meter is read.
    pub(crate) fn interval(&mut self, increase: u64, interval: Duration) {
        self.count = self.count.saturating_add(increase);
        self.elapsed += interval;
        self.untick += interval;
        for ewma in [&mut self.m1, &mut self.m5, &mut self.m15] {
            ewma.mark(increase);
        }
        while self.untick >= TICK {
            self.untick -= TICK;
            for ewma in [&mut self.m1, &mut self.m5, &mut self.m15] {
                ewma.tick();
            }
        }
    }

    /// Mean rate and the 1/5/15-minute rates, per second.
    pub(crate) fn rates(&self) -> [f64; 4] {
        let mean = match self.elapsed.as_secs_f64() {
            secs if secs > 0.0 => self.count as f64 / secs,
            _ => 0.0,
        };
        [mean, self.m1.rate(), self.m5.rate(), self.m15.rate()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn dropwizard_test_vector() {
        let mut meter = Meter::new();
        meter.interval(3, TICK);
        let [_, m1, m5, m15] = meter.rates();
        assert!(
            close(m1, 0.6) && close(m5, 0.6) && close(m15, 0.6),
            "{m1} {m5} {m15}"
        );
        meter.interval(0, TICK);
        let [mean, m1, m5, m15] = meter.rates();
        assert!(close(m1, 0.5520266), "{m1}");
        assert!(close(m5, 0.5900829), "{m5}");
        assert!(close(m15, 0.5966759), "{m15}");
        assert!(close(mean, 0.3), "{mean}");
    }

    #[test]
    fn a_ten_second_interval_is_two_ticks() {
        let mut meter = Meter::new();
        meter.interval(10, Duration::from_secs(10));
        // First tick: 10 events in 5 s, a rate of 2; second, empty tick.
        let m1 = meter.rates()[1];
        assert!(
            close(m1, 2.0 - 2.0 * (1.0 - (-5.0f64 / 60.0).exp())),
            "{m1}"
        );
    }
}
