//! The spool: a local log of recorded records, so that nothing recorded is
//! lost across a crash or an outage longer than the queue can hold.
//!
//! `record` appends the record to the active segment file (one `write`,
//! under a lock, before it returns: a process killed at any point keeps
//! it) and then queues it in memory. A thread of the spool's makes the
//! appends durable with `fdatasync`, at most once per `spool_sync_interval`
//! (group commit), off the recording threads. While the queue is full the
//! spool stops queueing: new records go to the file only, and the writer
//! reads them back, in order, once it has written what was queued. A
//! segment file is deleted once every record in it is acknowledged
//! (written, or given up on and handed to the dead-letter hook) and, on
//! backends whose acknowledgements are not durable (the embedded engine),
//! committed. A store opened on a spool directory that holds segments
//! sends their records first: what was acknowledged but not yet deleted is
//! sent again under the same id, which `create` turns into a conflict that
//! counts as written.
//!
//! Segment files are `{number:020}.spool`, a sequence of frames (see
//! `frame.rs`). A frame cut short or damaged (a crash in mid-append of a
//! record whose `record` never returned) ends its segment's replay, with a
//! warning.

mod frame;

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::record_type::RecordType;
use crate::registry;

pub(crate) use self::frame::SpooledRecord;
use self::frame::{Parsed, next_frame};

/// A segment grows to about this size before the next one starts.
const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;

const EXTENSION: &str = "spool";

/// A place in the spool: a segment and a byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    segment: u64,
    offset: u64,
}

/// A backend's spool directory, locked by the store that opened it.
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    _lock: File,
    state: Mutex<State>,
    wake_syncer: Condvar,
    /// Whether an acknowledged record is durable at once (Elasticsearch),
    /// or only after the backend's next commit (the embedded engine).
    durable_on_ack: bool,
}

#[derive(Debug)]
struct State {
    active: Segment,
    /// Every segment file there is, the active one included.
    segments: BTreeSet<u64>,
    /// The first record not handed to the writer yet; `None` while every
    /// appended record is queued in memory.
    cursor: Option<Position>,
    /// Per segment, records handed to the writer and not released yet.
    outstanding: HashMap<u64, u64>,
    /// Segments of records acknowledged but waiting for a commit.
    awaiting_commit: Vec<u64>,
    /// Files written since their last sync.
    unsynced: Vec<Arc<File>>,
    active_unsynced: bool,
    /// Records in the spool, not released.
    spooled: u64,
    /// Types met in the spool that this program does not link, warned once.
    unknown_types: BTreeSet<String>,
    stopping: bool,
    syncer: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct Segment {
    number: u64,
    file: Arc<File>,
    len: u64,
}

impl Spool {
    /// Opens (creating it) and locks the spool directory `dir`, and starts
    /// the thread that syncs appends every `sync_interval` at most.
    pub(crate) fn open(
        dir: &Path,
        sync_interval: Duration,
        durable_on_ack: bool,
    ) -> Result<Arc<Spool>> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("create the spool directory", dir, e))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io("open the spool lock", &lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(Error::Locked {
                path: dir.display().to_string(),
                holder: "another store (in this or another process)".into(),
            });
        }
        let mut segments = BTreeSet::new();
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io("list the spool", dir, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == EXTENSION)
                && let Some(number) = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse::<u64>().ok())
            {
                segments.insert(number);
            }
        }
        let mut spooled = 0;
        for &number in &segments {
            spooled += count_frames(&segment_path(dir, number))?;
        }
        let cursor = segments
            .first()
            .map(|&segment| Position { segment, offset: 0 });
        let number = segments.last().map_or(1, |last| last + 1);
        let active = Segment::create(dir, number)?;
        segments.insert(number);
        if spooled > 0 {
            tracing::info!(records = spooled, dir = %dir.display(), "esrecord: sending the records left in the spool");
        }
        let spool = Arc::new(Spool {
            dir: dir.to_owned(),
            _lock: lock,
            state: Mutex::new(State {
                active,
                segments,
                cursor,
                outstanding: HashMap::new(),
                awaiting_commit: Vec::new(),
                unsynced: Vec::new(),
                active_unsynced: false,
                spooled,
                unknown_types: BTreeSet::new(),
                stopping: false,
                syncer: None,
            }),
            wake_syncer: Condvar::new(),
            durable_on_ack,
        });
        let syncing = Arc::clone(&spool);
        let syncer = std::thread::Builder::new()
            .name("esrecord-spool-sync".into())
            .spawn(move || syncing.sync_loop(sync_interval))
            .map_err(|e| Error::Engine(format!("cannot start the spool's sync thread: {e}")))?;
        spool.lock().syncer = Some(syncer);
        Ok(spool)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends `record` to the active segment, then, unless records are
    /// being kept on disk only, hands it to `queue`, which says whether it
    /// queued it: when it did not (the queue is full), records from this
    /// one on stay on disk until the writer reads them back. Returns once
    /// the record is in the file.
    pub(crate) fn append(
        &self,
        mut record: SpooledRecord,
        queue: impl FnOnce(SpooledRecord) -> bool,
    ) -> Result<()> {
        let mut state = self.lock();
        let at = Position {
            segment: state.active.number,
            offset: state.active.len,
        };
        if let Err(error) = (&*state.active.file).write_all(&record.frame) {
            // A partial frame would hide every later one: cut it off.
            let _ = state.active.file.set_len(at.offset);
            return Err(Error::io(
                "append to the spool",
                segment_path(&self.dir, at.segment),
                error,
            ));
        }
        state.active.len += record.frame.len() as u64;
        state.spooled += 1;
        if !state.active_unsynced {
            state.active_unsynced = true;
            let file = Arc::clone(&state.active.file);
            state.unsynced.push(file);
            self.wake_syncer.notify_one();
        }
        if state.cursor.is_none() {
            record.segment = at.segment;
            if queue(record) {
                *state.outstanding.entry(at.segment).or_default() += 1;
            } else {
                state.cursor = Some(at);
            }
        }
        if state.active.len >= SEGMENT_BYTES {
            self.rotate(&mut state)?;
        }
        Ok(())
    }

    fn rotate(&self, state: &mut State) -> Result<()> {
        let next = Segment::create(&self.dir, state.active.number + 1)?;
        state.segments.insert(next.number);
        state.active = next;
        state.active_unsynced = false;
        self.collect(state);
        Ok(())
    }

    /// Whether records wait on disk to be read back.
    pub(crate) fn has_backlog(&self) -> bool {
        self.lock().cursor.is_some()
    }

    /// Up to `max` records kept on disk, oldest first, read back for the
    /// writer.
    pub(crate) fn read_backlog(&self, max: usize) -> Vec<SpooledRecord> {
        let (mut at, end, segments) = {
            let state = self.lock();
            let Some(cursor) = state.cursor else {
                return Vec::new();
            };
            let end = Position {
                segment: state.active.number,
                offset: state.active.len,
            };
            (cursor, end, state.segments.clone())
        };
        let types = registry::types();
        let mut records = Vec::new();
        let mut unknown = Vec::new();
        let mut damaged = Vec::new();
        while records.len() < max && at < end {
            let limit = (at.segment == end.segment).then_some(end.offset);
            let path = segment_path(&self.dir, at.segment);
            let finished = match read_frames(
                &path,
                at,
                limit,
                max - records.len(),
                &types,
                &mut records,
                &mut unknown,
            ) {
                Ok((next, finished)) => {
                    at = next;
                    finished
                }
                Err(error) => {
                    damaged.push(format!("{}: {error}", path.display()));
                    true
                }
            };
            if finished && at.segment != end.segment {
                at = Position {
                    segment: segments
                        .range(at.segment + 1..)
                        .next()
                        .copied()
                        .unwrap_or(end.segment),
                    offset: 0,
                };
            } else if finished {
                break;
            }
        }
        for problem in damaged {
            tracing::warn!(%problem, "esrecord: the rest of a spool segment is damaged and was skipped (a crash in mid-append)");
        }
        let mut state = self.lock();
        for record in &records {
            *state.outstanding.entry(record.segment).or_default() += 1;
        }
        // Never released: their segments stay for a program that links them.
        for (segment, type_name) in unknown {
            *state.outstanding.entry(segment).or_default() += 1;
            if state.unknown_types.insert(type_name.clone()) {
                tracing::warn!(record_type = %type_name, "esrecord: the spool holds records of a type this program does not link; they stay in the spool for a program that does");
            }
        }
        let now_end = Position {
            segment: state.active.number,
            offset: state.active.len,
        };
        state.cursor = (at < now_end).then_some(at);
        self.collect(&mut state);
        records
    }

    /// Notes that the writer is done with a record of `segment`: written,
    /// or given up on.
    pub(crate) fn acknowledge(&self, segment: u64) {
        let mut state = self.lock();
        if self.durable_on_ack {
            release(&mut state, segment);
            self.collect(&mut state);
            self.retire_active_if_done(&mut state);
        } else {
            state.awaiting_commit.push(segment);
        }
    }

    /// The acknowledgements a commit about to start covers.
    pub(crate) fn before_commit(&self) -> Vec<u64> {
        std::mem::take(&mut self.lock().awaiting_commit)
    }

    /// After a commit: the acknowledgements it covered are durable.
    pub(crate) fn committed(&self, covered: Vec<u64>) {
        let mut state = self.lock();
        for segment in covered {
            release(&mut state, segment);
        }
        self.collect(&mut state);
        self.retire_active_if_done(&mut state);
    }

    /// Starts a new segment when every record of the active one is
    /// released, and deletes the old one, so that a crash later does not
    /// send them again.
    fn retire_active_if_done(&self, state: &mut State) {
        let active = state.active.number;
        let done = state.cursor.is_none()
            && state.active.len > 0
            && state.outstanding.get(&active).is_none_or(|n| *n == 0);
        if done && let Err(error) = self.rotate(state) {
            tracing::warn!(%error, "esrecord: cannot start a new spool segment");
        }
    }

    /// After a failed commit: its acknowledgements wait for the next.
    pub(crate) fn commit_failed(&self, covered: Vec<u64>) {
        self.lock().awaiting_commit.extend(covered);
    }

    /// Records kept and not released (at open: what earlier stores left).
    pub(crate) fn spooled(&self) -> u64 {
        self.lock().spooled
    }

    /// Deletes the segments whose records are all released, except the
    /// active one.
    fn collect(&self, state: &mut State) {
        let handed_before = state.cursor.map_or(u64::MAX, |c| c.segment);
        let done: Vec<u64> = state
            .segments
            .iter()
            .copied()
            .filter(|&s| {
                s != state.active.number
                    && s < handed_before
                    && state.outstanding.get(&s).is_none_or(|n| *n == 0)
            })
            .collect();
        for segment in done {
            let path = segment_path(&self.dir, segment);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "esrecord: cannot delete a spool segment; it will be sent again");
                    continue;
                }
            }
            state.segments.remove(&segment);
            state.outstanding.remove(&segment);
        }
    }

    /// Syncs what was appended, stops the sync thread, and deletes every
    /// segment when all records are released.
    pub(crate) fn close(&self) {
        let syncer = {
            let mut state = self.lock();
            state.stopping = true;
            self.wake_syncer.notify_one();
            state.syncer.take()
        };
        if let Some(syncer) = syncer {
            let _ = syncer.join();
        }
        let mut state = self.lock();
        if let Err(error) = state.active.file.sync_data() {
            tracing::warn!(%error, "esrecord: cannot sync the spool");
        }
        let all_released = state.cursor.is_none() && state.outstanding.values().all(|n| *n == 0);
        if all_released && state.awaiting_commit.is_empty() {
            let segments: Vec<u64> = state.segments.iter().copied().collect();
            for segment in segments {
                let _ = std::fs::remove_file(segment_path(&self.dir, segment));
            }
            state.segments.clear();
        } else {
            self.collect(&mut state);
        }
    }

    fn sync_loop(&self, interval: Duration) {
        loop {
            let files = {
                let mut state = self.lock();
                while state.unsynced.is_empty() && !state.stopping {
                    state = self
                        .wake_syncer
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                if state.unsynced.is_empty() {
                    return;
                }
                state.active_unsynced = false;
                std::mem::take(&mut state.unsynced)
            };
            for file in files {
                if let Err(error) = file.sync_data() {
                    tracing::warn!(%error, "esrecord: cannot sync the spool");
                }
            }
            std::thread::sleep(interval);
        }
    }
}

fn release(state: &mut State, segment: u64) {
    if let Some(count) = state.outstanding.get_mut(&segment) {
        *count = count.saturating_sub(1);
    }
    state.spooled = state.spooled.saturating_sub(1);
}

impl Segment {
    fn create(dir: &Path, number: u64) -> Result<Segment> {
        let path = segment_path(dir, number);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io("create a spool segment", &path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("read a spool segment", &path, e))?
            .len();
        Ok(Segment {
            number,
            file: Arc::new(file),
            len,
        })
    }
}

fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:020}.{EXTENSION}"))
}

/// Reads frames of the segment at `path` from `at`, up to byte `limit`
/// (the end of what was appended, for the active segment) and `max`
/// records. Returns where it stopped and whether the segment is finished
/// (its end, or damage, was reached).
fn read_frames(
    path: &Path,
    at: Position,
    limit: Option<u64>,
    max: usize,
    types: &[&'static RecordType],
    records: &mut Vec<SpooledRecord>,
    unknown: &mut Vec<(u64, String)>,
) -> std::io::Result<(Position, bool)> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(at.offset))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut offset = at.offset;
    let mut read = 0;
    loop {
        if limit.is_some_and(|limit| offset >= limit) {
            return Ok((Position { offset, ..at }, true));
        }
        if read == max {
            return Ok((Position { offset, ..at }, false));
        }
        let Some(frame) = next_frame(&mut reader)? else {
            return Ok((Position { offset, ..at }, true));
        };
        offset += frame.len() as u64;
        match SpooledRecord::parse(frame, at.segment, types) {
            Some(Parsed::Known(record)) => records.push(record),
            Some(Parsed::Unknown(type_name)) => unknown.push((at.segment, type_name)),
            None => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("an unreadable record at byte {offset}"),
                ));
            }
        }
        read += 1;
    }
}

/// How many whole frames the segment at `path` holds.
fn count_frames(path: &Path) -> Result<u64> {
    let file = File::open(path).map_err(|e| Error::io("open a spool segment", path, e))?;
    let mut reader = BufReader::new(file);
    let mut count = 0;
    while let Ok(Some(_)) = next_frame(&mut reader) {
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::{DateTime, Utc};

    use super::*;

    #[derive(crate::Record, serde::Serialize, serde::Deserialize)]
    #[record(app_label = "spooltest")]
    struct Event {
        timestamp: DateTime<Utc>,
    }

    fn record_type() -> &'static RecordType {
        <Event as crate::Record>::record_type()
    }

    fn source(json: &[u8]) -> impl FnOnce(&mut Vec<u8>) -> Result<()> + '_ {
        move |out| {
            out.extend_from_slice(json);
            Ok(())
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("esrecord-spool-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_full_queue_spills_to_disk_and_reads_back_in_order() {
        let dir = temp_dir("spill");
        let spool = Spool::open(&dir, Duration::from_millis(1), true).unwrap();
        let mut queued = Vec::new();
        for i in 0..10 {
            let record =
                SpooledRecord::new(record_type(), None, &format!("id-{i}"), source(b"{}")).unwrap();
            spool
                .append(record, |r| {
                    let room = queued.len() < 3;
                    if room {
                        queued.push(r);
                    }
                    room
                })
                .unwrap();
        }
        assert_eq!(queued.len(), 3);
        assert!(spool.has_backlog());
        let first = spool.read_backlog(4);
        let rest = spool.read_backlog(100);
        assert!(!spool.has_backlog());
        let ids: Vec<&str> = first.iter().chain(&rest).map(|r| r.id()).collect();
        assert_eq!(
            ids,
            ["id-3", "id-4", "id-5", "id-6", "id-7", "id-8", "id-9"]
        );
        assert_eq!(spool.spooled(), 10);
        for record in queued.iter().chain(&first).chain(&rest) {
            spool.acknowledge(record.segment);
        }
        assert_eq!(spool.spooled(), 0);
        spool.close();
        drop(spool);
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == EXTENSION))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn what_was_not_released_is_read_back_by_the_next_spool() {
        let dir = temp_dir("replay");
        {
            let spool = Spool::open(&dir, Duration::from_millis(1), false).unwrap();
            for i in 0..5 {
                let record =
                    SpooledRecord::new(record_type(), None, &format!("id-{i}"), source(b"{}"))
                        .unwrap();
                spool.append(record, |_| true).unwrap();
            }
            // Acknowledged but never committed: not released.
            spool.acknowledge(1);
            spool.close();
        }
        let spool = Spool::open(&dir, Duration::from_millis(1), false).unwrap();
        assert_eq!(spool.spooled(), 5);
        let ids: Vec<String> = spool
            .read_backlog(100)
            .iter()
            .map(|r| r.id().to_owned())
            .collect();
        assert_eq!(ids, ["id-0", "id-1", "id-2", "id-3", "id-4"]);
        let second = Spool::open(&dir, Duration::from_millis(1), false);
        assert!(matches!(second, Err(Error::Locked { .. })), "{second:?}");
        spool.close();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
