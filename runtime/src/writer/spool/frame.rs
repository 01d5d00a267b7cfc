//! The spool's frames: one record each, as the spool appends it and reads
//! it back.
//!
//! A frame is `[payload length: u32 LE][crc32 of payload: u32 LE][payload]`,
//! the payload `[app label, type name, id: u16-length-prefixed UTF-8]
//! [timestamp: flag u8, seconds i64 LE, nanoseconds u32 LE][source JSON]`.
//! A frame cut short, too long or whose checksum is wrong is damage.

use std::io::Read;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::record_type::RecordType;

/// The longest payload a frame may claim; anything longer is damage.
const MAX_FRAME: u32 = 256 * 1024 * 1024;

/// One record as the spool keeps it: the frame, and where its parts are.
#[derive(Debug)]
pub(crate) struct SpooledRecord {
    pub(crate) record_type: &'static RecordType,
    pub(crate) timestamp: Option<DateTime<Utc>>,
    pub(super) frame: Vec<u8>,
    names: [std::ops::Range<usize>; 3],
    source: usize,
    /// The segment it is in (set when appended).
    pub(crate) segment: u64,
}

impl SpooledRecord {
    /// A frame for a record of `record_type`, whose source `write_source`
    /// writes (as compact JSON).
    pub(crate) fn new(
        record_type: &'static RecordType,
        timestamp: Option<DateTime<Utc>>,
        id: &str,
        write_source: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<SpooledRecord> {
        let mut frame = Vec::with_capacity(256);
        frame.extend_from_slice(&[0; 8]);
        let mut names = [0..0, 0..0, 0..0];
        for (range, text) in names
            .iter_mut()
            .zip([record_type.app_label(), record_type.name(), id])
        {
            let length = u16::try_from(text.len())
                .map_err(|_| Error::BadRequest(format!("id {text:?} is too long for the spool")))?;
            frame.extend_from_slice(&length.to_le_bytes());
            *range = frame.len()..frame.len() + text.len();
            frame.extend_from_slice(text.as_bytes());
        }
        let (flag, seconds, nanos) = match timestamp {
            Some(ts) => (1u8, ts.timestamp(), ts.timestamp_subsec_nanos()),
            None => (0, 0, 0),
        };
        frame.push(flag);
        frame.extend_from_slice(&seconds.to_le_bytes());
        frame.extend_from_slice(&nanos.to_le_bytes());
        let source_at = frame.len();
        write_source(&mut frame)?;
        let payload_length = u32::try_from(frame.len() - 8)
            .ok()
            .filter(|length| *length <= MAX_FRAME)
            .ok_or_else(|| Error::BadRequest("a record too large for the spool".into()))?;
        let crc = crc32fast::hash(&frame[8..]);
        frame[..4].copy_from_slice(&payload_length.to_le_bytes());
        frame[4..8].copy_from_slice(&crc.to_le_bytes());
        Ok(SpooledRecord {
            record_type,
            timestamp,
            frame,
            names,
            source: source_at,
            segment: 0,
        })
    }

    /// Reads a frame whose payload is `frame[8..]`: a record of one of
    /// `types` (the registered ones), or the name of a type this program
    /// does not link.
    pub(super) fn parse(
        frame: Vec<u8>,
        segment: u64,
        types: &[&'static RecordType],
    ) -> Option<Parsed> {
        let mut at = 8;
        let mut names = [0..0, 0..0, 0..0];
        for range in &mut names {
            let length = u16::from_le_bytes(frame.get(at..at + 2)?.try_into().ok()?) as usize;
            at += 2;
            std::str::from_utf8(frame.get(at..at + length)?).ok()?;
            *range = at..at + length;
            at += length;
        }
        let flag = *frame.get(at)?;
        let seconds = i64::from_le_bytes(frame.get(at + 1..at + 9)?.try_into().ok()?);
        let nanos = u32::from_le_bytes(frame.get(at + 9..at + 13)?.try_into().ok()?);
        let timestamp = match flag {
            0 => None,
            _ => Some(DateTime::from_timestamp(seconds, nanos)?),
        };
        let text = |part: usize| {
            let range: &std::ops::Range<usize> = &names[part];
            std::str::from_utf8(&frame[range.clone()]).unwrap_or_default()
        };
        let known = types
            .iter()
            .copied()
            .find(|t| t.app_label() == text(0) && t.name() == text(1));
        let Some(record_type) = known else {
            return Some(Parsed::Unknown(format!("{}.{}", text(0), text(1))));
        };
        Some(Parsed::Known(SpooledRecord {
            record_type,
            timestamp,
            frame,
            names,
            source: at + 13,
            segment,
        }))
    }

    fn text(&self, part: usize) -> &str {
        self.names
            .get(part)
            .and_then(|range| self.frame.get(range.clone()))
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }

    /// The record's document id.
    pub(crate) fn id(&self) -> &str {
        self.text(2)
    }

    /// The record's source JSON.
    pub(crate) fn source(&self) -> &[u8] {
        self.frame.get(self.source..).unwrap_or_default()
    }
}

/// A frame read back from a segment.
pub(super) enum Parsed {
    Known(SpooledRecord),
    /// A record of a type (`app_label.name`) this program does not link.
    Unknown(String),
}

/// The next whole frame (header included), `None` at the end; a frame cut
/// short or whose checksum is wrong is an error.
pub(super) fn next_frame(reader: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 8];
    let mut filled = 0;
    while filled < header.len() {
        match reader.read(&mut header[filled..])? {
            0 if filled == 0 => return Ok(None),
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => filled += n,
        }
    }
    let [l0, l1, l2, l3, c0, c1, c2, c3] = header;
    let length = u32::from_le_bytes([l0, l1, l2, l3]);
    if length > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "a frame length past the limit",
        ));
    }
    let mut frame = vec![0u8; 8 + length as usize];
    frame[..8].copy_from_slice(&header);
    reader.read_exact(&mut frame[8..])?;
    if crc32fast::hash(&frame[8..]) != u32::from_le_bytes([c0, c1, c2, c3]) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "a frame whose checksum is wrong",
        ));
    }
    Ok(Some(frame))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::registry;

    #[derive(crate::Record, serde::Serialize, serde::Deserialize)]
    #[record(app_label = "spoolframetest")]
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

    #[test]
    fn frames_round_trip_and_damage_ends_a_segment() {
        let ts = DateTime::from_timestamp(1_709_600_000, 123).unwrap();
        let record =
            SpooledRecord::new(record_type(), Some(ts), "id-1", source(br#"{"a":1}"#)).unwrap();
        let Some(Parsed::Known(parsed)) =
            SpooledRecord::parse(record.frame.clone(), 7, &registry::types())
        else {
            panic!("the frame does not parse");
        };
        assert_eq!(parsed.id(), "id-1");
        assert_eq!(parsed.source(), br#"{"a":1}"#);
        assert_eq!(parsed.timestamp, Some(ts));
        assert_eq!(parsed.segment, 7);

        let mut bytes = record.frame.clone();
        bytes.extend_from_slice(&record.frame[..record.frame.len() - 1]);
        let mut reader = &bytes[..];
        assert!(next_frame(&mut reader).unwrap().is_some());
        assert!(next_frame(&mut reader).is_err(), "a cut frame is an error");
        let mut flipped = record.frame.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(
            next_frame(&mut &flipped[..]).is_err(),
            "a damaged frame is an error"
        );
    }
}
