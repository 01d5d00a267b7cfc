//! Index patterns: the fewest that cover a time range, and matching and
//! overlap of patterns in which `*` stands for any run of characters.

use super::ascii_to_string;
use super::time_range::TimeRange;
use crate::Timedepth;

/// The smallest list of index patterns that covers every partition of
/// `depth` intersecting `range`, where each partition's index is named
/// `{base}{timeparts}`.
///
/// Whole years, months and days inside the range become wildcards
/// (`{base}2024.*`, `{base}2024.03.*`); the partial partitions at either end
/// are named exactly. When the list would hold more than `limit` patterns the
/// answer is `[fallback]`, the type's full pattern.
///
/// ```
/// use esrecord::naming::patterns_covering;
/// use esrecord::{TimeRange, Timedepth};
/// let range = TimeRange::new((2024, 1), (2024, 4, 2)).unwrap();
/// let patterns = patterns_covering("app_t_", Timedepth::Day, &range, 32, "app_t_*");
/// assert_eq!(patterns, ["app_t_2024.01.*", "app_t_2024.02.*", "app_t_2024.03.*", "app_t_2024.04.01"]);
/// ```
pub fn patterns_covering(
    base: &str,
    depth: Timedepth,
    range: &TimeRange,
    limit: usize,
    fallback: &str,
) -> Vec<String> {
    let start = depth.floor(range.from);
    let floor_until = depth.floor(range.until);
    let end = if floor_until == range.until {
        Some(range.until)
    } else {
        depth.next(floor_until)
    };
    // `end` is None only at the very end of chrono's calendar.
    let Some(end) = end else {
        return vec![fallback.to_owned()];
    };

    let mut patterns = Vec::new();
    let mut t = start;
    while t < end {
        if patterns.len() == limit {
            return vec![fallback.to_owned()];
        }
        // The coarsest unit that starts at `t` and ends within the range.
        let unit = Timedepth::ALL
            .into_iter()
            .filter(|unit| *unit <= depth)
            .find(|unit| unit.floor(t) == t && unit.next(t).is_some_and(|n| n <= end))
            .unwrap_or(depth);
        let mut pattern = Vec::with_capacity(base.len() + 15);
        pattern.extend_from_slice(base.as_bytes());
        unit.write_parts(&t, &mut pattern);
        if unit != depth {
            pattern.extend_from_slice(b".*");
        }
        patterns.push(ascii_to_string(pattern));
        match unit.next(t) {
            Some(next) => t = next,
            None => break,
        }
    }
    patterns
}

/// Whether `name` matches an index pattern in which `*` stands for any run
/// of characters.
///
/// ```
/// use esrecord::naming::glob_matches;
/// assert!(glob_matches("shop_pageview_*", "shop_pageview_2024.03.05"));
/// assert!(!glob_matches("shop_pageview_*", "shop_pageviews"));
/// ```
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    globs_overlap(pattern, &name.replace('*', "\u{0}"))
}

/// Whether some index name matches both patterns (`*` stands for any run of
/// characters). The registry uses it to find record types whose templates
/// would claim the same indexes.
///
/// ```
/// use esrecord::naming::globs_overlap;
/// assert!(globs_overlap("shop_page_*", "shop_page_view_*"));
/// assert!(!globs_overlap("shop_page_*", "shop_pageview_*"));
/// ```
pub fn globs_overlap(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    // visited[i][j]: the suffixes a[i..] and b[j..] were already explored.
    let mut visited = vec![false; (a.len() + 1) * (b.len() + 1)];
    let mut stack = vec![(0, 0)];
    while let Some((i, j)) = stack.pop() {
        let seen = &mut visited[i * (b.len() + 1) + j];
        if *seen {
            continue;
        }
        *seen = true;
        if i == a.len() && j == b.len() {
            return true;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'*') {
            stack.push((i + 1, j)); // the star matches nothing more
            if cb.is_some() {
                stack.push((i, j + 1)); // the star absorbs b's next character
            }
        }
        if cb == Some(b'*') {
            stack.push((i, j + 1));
            if ca.is_some() {
                stack.push((i + 1, j));
            }
        }
        if ca.is_some() && ca == cb && ca != Some(b'*') {
            stack.push((i + 1, j + 1));
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_overlap_cases() {
        let cases = [
            ("a_*", "a_*", true),
            ("a_*", "b_*", false),
            ("a_*", "a_b_*", true),
            ("a_b", "a_*", true),
            ("x*", "*y", true),
            ("ab*", "*c*d", true),
            ("a_2024", "a_2025", false),
            ("*", "", true),
            ("a*b", "a*c", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(globs_overlap(a, b), want, "{a} ~ {b}");
            assert_eq!(globs_overlap(b, a), want, "{b} ~ {a}");
        }
        assert!(glob_matches("a*", "a*"));
        assert!(!glob_matches("a", "a*"));
    }
}
