//! Deterministic document ids for `unique_together` record types.
//!
//! Recording a record whose `unique_together` fields equal an earlier one's
//! overwrites it, as djelme's cyclic reports do, because both get the same
//! id. The id is stable across runs, platforms, crate versions and the order
//! of fields in the struct or the attribute:
//!
//! ```text
//! id = lowercase hex of the first 16 bytes of
//!      SHA-256( "esrecord-unique-v1" NUL app_label "." type_name NUL
//!               for each field, sorted by stored name:
//!                   stored_name NUL canonical_json(value) NUL )
//! ```
//!
//! where `canonical_json` is the value's serde JSON with object keys sorted
//! (see [`canonical_json`]). The
//! prefix of the store is not part of the id, so the same record has the
//! same id in every environment.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::record_type::RecordType;
use crate::template::canonical_json;

/// Builds a `unique_together` id; the derive calls it with the fields in
/// sorted order.
///
/// ```
/// # use esrecord::Record;
/// # #[derive(Record, serde::Serialize, serde::Deserialize)]
/// # #[record(app_label = "shop", unique_together(day, item_id))]
/// # struct DailyReport { timestamp: chrono::DateTime<chrono::Utc>, day: chrono::NaiveDate, item_id: u64 }
/// use esrecord::document_id::UniqueKey;
/// let mut key = UniqueKey::new(DailyReport::record_type());
/// key.field("day", &"2024-03-05")?;
/// key.field("item_id", &42)?;
/// assert_eq!(key.finish().len(), 32);
/// # Ok::<(), esrecord::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct UniqueKey {
    hasher: Sha256,
}

impl UniqueKey {
    /// Starts the key of a record of type `record_type`.
    pub fn new(record_type: &RecordType) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"esrecord-unique-v1\0");
        hasher.update(record_type.app_label().as_bytes());
        hasher.update(b".");
        hasher.update(record_type.name().as_bytes());
        hasher.update(b"\0");
        UniqueKey { hasher }
    }

    /// Adds one field, by its stored name; fields must come sorted by name.
    pub fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<()> {
        let value = serde_json::to_value(value).map_err(|source| Error::Serialize {
            what: format!("unique_together field `{name}`"),
            source,
        })?;
        self.hasher.update(name.as_bytes());
        self.hasher.update(b"\0");
        self.hasher.update(canonical_json(&value).as_bytes());
        self.hasher.update(b"\0");
        Ok(())
    }

    /// The id: 32 lowercase hex characters.
    pub fn finish(self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = self.hasher.finalize();
        let mut id = String::with_capacity(32);
        for byte in &digest[..16] {
            id.push(HEX[usize::from(byte >> 4)] as char);
            id.push(HEX[usize::from(byte & 0xf)] as char);
        }
        id
    }
}
