//! What the queues hold: a record of any type waiting for the writer, and
//! how it becomes a bulk item, under an id made once before its first
//! attempt.

use uuid::Uuid;

use super::spool::SpooledRecord;
use crate::bulk::BulkBuilder;
use crate::error::Result;
use crate::record::Record;
use crate::record_type::RecordType;

/// A queued record of any type, encoded on the writer's runtime.
pub(crate) trait Pending: Send {
    /// The record's type (unprefixed).
    fn record_type(&self) -> &'static RecordType;
    /// Adds the record to `batch`, its names from `named` (the type as the
    /// backend names it).
    fn encode(&self, named: &RecordType, batch: &mut BulkBuilder) -> Result<()>;
    /// The spool segment that keeps it, if it is spooled.
    fn spool_segment(&self) -> Option<u64> {
        None
    }
}

/// A record waiting in its type's queue. Its id is given (the serve
/// endpoint's `_id`) or made when it is encoded, once, before its first
/// attempt: every resend carries the same id (see [`new_id`]).
pub(super) struct PendingRecord<R> {
    pub(super) record: R,
    pub(super) id: Option<String>,
}

impl<R: Record> Pending for PendingRecord<R> {
    fn record_type(&self) -> &'static RecordType {
        R::record_type()
    }

    fn encode(&self, named: &RecordType, batch: &mut BulkBuilder) -> Result<()> {
        encode_as(named, &self.record, self.id.as_deref(), batch)
    }
}

impl Pending for SpooledRecord {
    fn record_type(&self) -> &'static RecordType {
        self.record_type
    }

    fn encode(&self, named: &RecordType, batch: &mut BulkBuilder) -> Result<()> {
        batch.push_source(named, self.timestamp, self.id(), self.source())
    }

    fn spool_segment(&self) -> Option<u64> {
        Some(self.segment)
    }
}

/// The id of a record: a UUIDv7 (`Uuid::now_v7`: the time it is made,
/// then a counter and random bits, so ids made in one process increase).
/// It is made once per record, before the record's first attempt (when its
/// batch is encoded, off the recording thread, or when it is spooled), and
/// every resend carries it, so that `create` can never store a record
/// twice. Ids made close in time share a prefix: the id terms of a
/// partition compress well and are looked up fast.
pub(crate) fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Adds `record` to `batch` under its `unique_together` id, else a new id
/// (see [`new_id`]).
pub(crate) fn encode<R: Record>(
    named: &RecordType,
    record: &R,
    batch: &mut BulkBuilder,
) -> Result<()> {
    encode_as(named, record, None, batch)
}

/// Adds `record` to `batch` under its `unique_together` id, else `given`,
/// else a new id.
fn encode_as<R: Record>(
    named: &RecordType,
    record: &R,
    given: Option<&str>,
    batch: &mut BulkBuilder,
) -> Result<()> {
    let mut buffer = Uuid::encode_buffer();
    match (record.unique_id()?, given) {
        (Some(unique), _) => batch.push_record(named, record, &unique),
        (None, Some(given)) => batch.push_record(named, record, given),
        (None, None) => {
            let id = new_id();
            batch.push_record(named, record, id.hyphenated().encode_lower(&mut buffer))
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    #[derive(crate::Record, serde::Serialize, serde::Deserialize)]
    #[record(app_label = "pendingtest")]
    struct Event {
        timestamp: DateTime<Utc>,
    }

    #[derive(crate::Record, serde::Serialize, serde::Deserialize)]
    #[record(app_label = "pendingtest", unique_together(host))]
    struct Report {
        timestamp: DateTime<Utc>,
        host: String,
    }

    fn ids(body: &crate::bulk::BulkBody) -> Vec<String> {
        body.entries().map(|entry| entry.id.to_owned()).collect()
    }

    #[test]
    fn records_get_new_increasing_ids_unless_unique_together_makes_them() {
        let timestamp = DateTime::from_timestamp(1_709_600_000, 0).unwrap();
        let mut batch = BulkBuilder::default();
        for record in [Event { timestamp }, Event { timestamp }] {
            PendingRecord { record, id: None }
                .encode(<Event as Record>::record_type(), &mut batch)
                .unwrap();
        }
        let made = ids(&batch.finish());
        assert_eq!(made.len(), 2);
        assert!(made[0] < made[1], "{made:?}");
        assert!(
            made.iter().all(|id| Uuid::parse_str(id).is_ok()),
            "{made:?}"
        );

        let report = Report {
            timestamp,
            host: "a".into(),
        };
        let mut batch = BulkBuilder::default();
        encode(<Report as Record>::record_type(), &report, &mut batch).unwrap();
        encode(<Report as Record>::record_type(), &report, &mut batch).unwrap();
        let unique = ids(&batch.finish());
        assert_eq!(unique[0], unique[1]);
        assert_eq!(Some(&unique[0]), report.unique_id().unwrap().as_ref());
    }
}
