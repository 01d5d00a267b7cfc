//! Search-idle refreshes, as in Elasticsearch: the refresh the writer
//! schedules every refresh interval commits only while someone searches.
//!
//! A commit costs the embedded engine about 10 ms per partition written (a
//! new segment, an fsync, later merges), so refreshing 30 partitions of a
//! backfill every second would spend a third of the time committing for no
//! reader. Elasticsearch skips the scheduled refresh of a shard nobody
//! searched for 30 s (`index.search.idle.after`) and refreshes it when the
//! next search arrives, before answering. The embedded engine does the
//! same, with two additions: a search-idle store still commits every 30 s
//! (its commits are also what makes records durable), and a search from
//! another process counts, through a marker file it touches in the data
//! directory.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// How long after the last search a store becomes search-idle, and how
/// often a search-idle store still commits.
pub(crate) const SEARCH_IDLE_AFTER: Duration = Duration::from_secs(30);

/// The file a read-only process touches when it searches.
const MARKER_FILE: &str = "searched";

/// How often a read-only process touches the marker at most.
const MARKER_TOUCH_INTERVAL: Duration = Duration::from_secs(1);

/// When the store was last searched and last committed on schedule.
#[derive(Debug)]
pub(crate) struct SearchActivity {
    marker: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The last search in this process.
    last_search: Option<Instant>,
    /// The last scheduled refresh that committed.
    last_commit: Instant,
    /// When this (read-only) process last touched the marker.
    last_touch: Option<Instant>,
}

impl SearchActivity {
    /// The activity of the data directory `dir`, which nobody searched yet.
    pub(crate) fn new(dir: &Path) -> Self {
        SearchActivity {
            marker: dir.join(MARKER_FILE),
            state: Mutex::new(State {
                last_search: None,
                last_commit: Instant::now(),
                last_touch: None,
            }),
        }
    }

    /// Notes a search in this process; true when the store was search-idle
    /// until now, so that the search must refresh before it reads.
    pub(crate) fn searched(&self) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        let was_idle = state
            .last_search
            .is_none_or(|last| now - last >= SEARCH_IDLE_AFTER);
        state.last_search = Some(now);
        was_idle
    }

    /// Notes a search in a read-only process, for the writing process to see.
    /// A marker that cannot be touched (a read-only file system) only means
    /// the writer keeps committing every 30 s rather than every interval.
    pub(crate) fn searched_elsewhere(&self) {
        let now = Instant::now();
        {
            let mut state = self.lock();
            if state
                .last_touch
                .is_some_and(|last| now - last < MARKER_TOUCH_INTERVAL)
            {
                return;
            }
            state.last_touch = Some(now);
        }
        let touched = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.marker)
            .and_then(|file: File| file.set_modified(SystemTime::now()));
        if let Err(error) = touched {
            tracing::debug!(marker = %self.marker.display(), %error, "could not mark a search for the writer");
        }
    }

    /// Whether the scheduled refresh due now should commit: the store was
    /// searched (here or elsewhere) within the last 30 s, or it has not
    /// committed on schedule for 30 s.
    pub(crate) fn scheduled_refresh_due(&self) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        let searched_here = state
            .last_search
            .is_some_and(|last| now - last < SEARCH_IDLE_AFTER);
        let due = searched_here
            || now - state.last_commit >= SEARCH_IDLE_AFTER
            || self.searched_elsewhere_recently();
        if due {
            state.last_commit = now;
        }
        due
    }

    fn searched_elsewhere_recently(&self) -> bool {
        std::fs::metadata(&self.marker)
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok())
            .is_some_and(|age| age < SEARCH_IDLE_AFTER)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few instants, valid whatever a panic interrupted.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn activity() -> (SearchActivity, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "esrecord-search-idle-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        (SearchActivity::new(&dir), dir)
    }

    #[test]
    fn a_store_nobody_searched_is_idle_and_its_first_search_refreshes() {
        let (activity, dir) = activity();
        assert!(!activity.scheduled_refresh_due());
        assert!(activity.searched(), "the first search finds the store idle");
        assert!(!activity.searched(), "a second search right after does not");
        assert!(activity.scheduled_refresh_due());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_search_in_another_process_makes_refreshes_due() {
        let (writer, dir) = activity();
        let reader = SearchActivity::new(&dir);
        assert!(!writer.scheduled_refresh_due());
        reader.searched_elsewhere();
        assert!(writer.scheduled_refresh_due());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
