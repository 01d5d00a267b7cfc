//! Records are checked before they are queued: a value Elasticsearch or the
//! embedded engine cannot store (NaN, an infinity, a date outside the years
//! 0000..=9999, a keyword longer than one term, a map key that cannot name
//! a field) is refused with the type, the stored path of the field and what
//! to do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use esrecord::mapping::{FieldType, InvalidReason};
use esrecord::{Error, Record};
use esrecord_tests::{HostLoad, Latency, PageView, Probe, Uptime};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

fn host_load() -> HostLoad {
    HostLoad {
        timestamp: Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap(),
        host: "web-1".into(),
        latency: Latency {
            p50_ms: 12.5,
            p99_ms: 80.0,
        },
        probes: vec![
            Probe {
                target: "db".into(),
                latency: None,
            },
            Probe {
                target: "cache".into(),
                latency: Some(Latency {
                    p50_ms: 0.5,
                    p99_ms: 2.0,
                }),
            },
        ],
        samples: vec![0.25, 0.5, 0.75, 1.0],
        load: BTreeMap::from([("cpu".into(), 0.8), ("io".into(), 0.1)]),
        temperature: Some(41.5),
        installed_on: NaiveDate::from_ymd_opt(2020, 1, 31).unwrap(),
        uptime: Uptime {
            seconds: 86_400.0,
            booted_at: Some(
                FixedOffset::east_opt(3600)
                    .unwrap()
                    .with_ymd_and_hms(2024, 3, 4, 8, 8, 9)
                    .unwrap(),
            ),
        },
    }
}

/// The stored path and reason of the record's error.
fn refusal(record: &impl Record) -> (String, InvalidReason) {
    match record.validate().unwrap_err() {
        Error::InvalidRecord {
            record_type,
            field,
            reason,
        } => {
            assert_eq!(record_type, "lab.hostload");
            (field, reason)
        }
        other => panic!("expected InvalidRecord, got {other:?}"),
    }
}

fn refused(edit: impl FnOnce(&mut HostLoad)) -> (String, InvalidReason) {
    let mut record = host_load();
    edit(&mut record);
    refusal(&record)
}

const NOT_FINITE: [(f64, InvalidReason); 3] = [
    (f64::NAN, InvalidReason::NotANumber),
    (f64::INFINITY, InvalidReason::PositiveInfinity),
    (f64::NEG_INFINITY, InvalidReason::NegativeInfinity),
];

fn at(path: &str, reason: InvalidReason) -> (String, InvalidReason) {
    (path.to_owned(), reason)
}

fn utc(year: i32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap()
}

#[test]
fn a_valid_record_passes() {
    host_load().validate().unwrap();
    let mut record = host_load();
    record.temperature = None;
    record.probes.clear();
    record.samples.clear();
    record.load.clear();
    record.uptime.booted_at = None;
    record.validate().unwrap();
    // The bounds of the four-digit years are accepted.
    record.timestamp = utc(0);
    record.installed_on = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
    record.validate().unwrap();
    let mut view = PageView {
        timestamp: Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
        item_id: u64::MAX,
        path: String::new(),
        latency: Latency {
            p50_ms: f64::MAX,
            p99_ms: f64::MIN_POSITIVE,
        },
        tags: BTreeMap::from([("platform".into(), "NaN".into())]),
    };
    view.validate().unwrap();
    view.latency.p50_ms = -0.0;
    view.validate().unwrap();
}

#[test]
fn non_finite_floats_are_refused_at_the_top_level() {
    for (value, reason) in NOT_FINITE {
        // Stored under its serde name.
        assert_eq!(
            refused(|r| r.temperature = Some(value as f32)),
            at("temp_c", reason)
        );
    }
}

#[test]
fn non_finite_floats_are_refused_inside_composites() {
    for (value, reason) in NOT_FINITE {
        assert_eq!(
            refused(|r| r.latency.p99_ms = value),
            at("latency.p99_ms", reason)
        );
        // A flattened composite's fields are stored at the record's level.
        assert_eq!(
            refused(|r| r.uptime.seconds = value),
            at("uptime_s", reason)
        );
    }
}

#[test]
fn non_finite_floats_are_refused_in_lists() {
    for (value, reason) in NOT_FINITE {
        assert_eq!(refused(|r| r.samples[3] = value), at("samples[3]", reason));
        assert_eq!(
            refused(|r| r.probes[1].latency.as_mut().unwrap().p50_ms = value),
            at("probes[1].latency.p50_ms", reason)
        );
    }
}

#[test]
fn non_finite_floats_are_refused_in_maps() {
    for (value, reason) in NOT_FINITE {
        assert_eq!(
            refused(|r| {
                r.load.insert("cpu".into(), value);
            }),
            at("load.cpu", reason)
        );
    }
}

#[test]
fn dates_outside_four_digit_years_are_refused() {
    for year in [10_000, -1] {
        let reason = InvalidReason::YearOutOfRange { year };
        assert_eq!(
            refused(|r| r.timestamp = utc(year)),
            at("timestamp", reason)
        );
        assert_eq!(
            refused(|r| r.installed_on = NaiveDate::from_ymd_opt(year, 6, 1).unwrap()),
            at("installed_on", reason)
        );
        let booted = FixedOffset::west_opt(5 * 3600)
            .unwrap()
            .with_ymd_and_hms(year, 6, 1, 0, 0, 0)
            .unwrap();
        assert_eq!(
            refused(|r| r.uptime.booted_at = Some(booted)),
            at("booted_at", reason)
        );
    }
}

#[test]
fn the_first_invalid_field_in_declaration_order_is_reported() {
    let (field, _) = refused(|r| {
        r.samples[0] = f64::NAN;
        r.latency.p50_ms = f64::INFINITY;
        r.timestamp = utc(10_000);
    });
    assert_eq!(field, "timestamp");
    let (field, _) = refused(|r| {
        r.samples[2] = f64::NAN;
        r.samples[1] = f64::NAN;
    });
    assert_eq!(field, "samples[1]");
}

#[test]
fn the_message_names_the_type_and_the_field_and_what_to_do() {
    let mut record = host_load();
    record.latency.p99_ms = f64::NAN;
    let message = record.validate().unwrap_err().to_string();
    assert!(
        message.starts_with("lab.hostload: field latency.p99_ms is NaN; "),
        "{message}"
    );
    assert!(message.contains("record a finite number"), "{message}");
    assert!(message.contains("Option::None"), "{message}");

    record = host_load();
    record.timestamp = utc(10_000);
    let message = record.validate().unwrap_err().to_string();
    assert!(
        message.starts_with("lab.hostload: field timestamp has the year 10000; "),
        "{message}"
    );
    assert!(message.contains("0000 to 9999"), "{message}");
}

#[test]
fn composites_and_field_types_check_their_values() {
    let latency = Latency {
        p50_ms: 1.0,
        p99_ms: f64::NEG_INFINITY,
    };
    let err = latency.check_value().unwrap_err();
    assert_eq!(err.path(), "p99_ms");
    assert_eq!(err.reason(), InvalidReason::NegativeInfinity);
    assert!(Some(Box::new(vec![1.0_f32])).check_value().is_ok());
    let err = Some(Box::new(vec![1.0, f32::NAN]))
        .check_value()
        .unwrap_err();
    assert_eq!(err.path(), "[1]");
    assert_eq!(err.to_string(), format!("field [1] {}", err.reason()));
    // Integer and string maps have nothing to refuse.
    assert!(
        BTreeMap::from([("a".to_owned(), u64::MAX)])
            .check_value()
            .is_ok()
    );
}

/// Written by custom code (`#[serde(serialize_with)]`): NaN becomes a string.
fn nan_as_string<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_nan() {
        serializer.serialize_str("NaN")
    } else {
        serializer.serialize_f64(*value)
    }
}

fn is_nan(value: &f64) -> bool {
    value.is_nan()
}

/// A type without an Elasticsearch mapping of its own.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Note(f64);

/// How field attributes decide what is checked.
#[derive(Record, Serialize, Deserialize, Debug, Clone)]
#[record(app_label = "lab")]
struct Attributed {
    timestamp: DateTime<Utc>,
    /// Never written: not checked.
    #[serde(skip)]
    scratch: f64,
    /// Left out when NaN: checked only when written.
    #[serde(skip_serializing_if = "is_nan")]
    reading: f64,
    /// Stored as a keyword, still a float when serialized: checked.
    #[record(keyword)]
    code: f64,
    /// A mapping override on a type with a `FieldType`: checked.
    #[record(mapping = r#"{"type": "float"}"#)]
    level: f64,
    /// A mapping override on a type without one: not checked.
    #[record(mapping = r#"{"type": "double"}"#)]
    note: Note,
    /// Written by custom code: not checked.
    #[serde(serialize_with = "nan_as_string")]
    #[record(mapping = r#"{"type": "keyword"}"#)]
    custom: f64,
}

fn attributed() -> Attributed {
    Attributed {
        timestamp: utc(2024),
        scratch: f64::NAN,
        reading: f64::NAN,
        code: 1.0,
        level: 1.0,
        note: Note(f64::NAN),
        custom: f64::NAN,
    }
}

fn attributed_refusal(record: &Attributed) -> Option<(String, InvalidReason)> {
    match record.validate() {
        Ok(()) => None,
        Err(Error::InvalidRecord {
            record_type,
            field,
            reason,
        }) => {
            assert_eq!(record_type, "lab.attributed");
            Some((field, reason))
        }
        Err(other) => panic!("expected InvalidRecord, got {other:?}"),
    }
}

#[test]
fn skipped_and_custom_written_fields_are_not_checked() {
    let record = attributed();
    assert!(record.scratch.is_nan());
    assert_eq!(attributed_refusal(&record), None);
    // What serde writes of it holds no NaN.
    let json = serde_json::to_value(&record).unwrap();
    assert!(json.get("scratch").is_none() && json.get("reading").is_none());
    assert_eq!(json["custom"], "NaN");
}

#[test]
fn written_fields_are_checked_whatever_their_mapping() {
    let inf = InvalidReason::PositiveInfinity;
    let mut record = attributed();
    record.reading = f64::INFINITY;
    assert_eq!(attributed_refusal(&record), Some(at("reading", inf)));
    let mut record = attributed();
    record.code = f64::INFINITY;
    assert_eq!(attributed_refusal(&record), Some(at("code", inf)));
    let mut record = attributed();
    record.level = f64::INFINITY;
    assert_eq!(attributed_refusal(&record), Some(at("level", inf)));
}

/// Strings and maps: keywords, full text, a flattened map and a numeric map.
#[derive(Record, Serialize, Deserialize, Debug, Clone)]
#[record(app_label = "lab")]
struct Keyed {
    timestamp: DateTime<Utc>,
    name: String,
    aliases: Vec<String>,
    id: Uuid,
    #[record(text)]
    body: String,
    #[record(text)]
    notes: Option<Vec<String>>,
    tags: BTreeMap<String, String>,
    counts: HashMap<String, u64>,
    gauges: BTreeMap<String, f32>,
}

fn keyed() -> Keyed {
    Keyed {
        timestamp: utc(2024),
        name: "web-1".into(),
        aliases: vec!["web".into(), "www".into()],
        id: Uuid::nil(),
        body: "a short note".into(),
        notes: None,
        tags: BTreeMap::from([("platform".into(), "ios".into())]),
        counts: HashMap::from([("hits".into(), 1)]),
        gauges: BTreeMap::from([("cpu".into(), 0.5)]),
    }
}

fn keyed_refusal(edit: impl FnOnce(&mut Keyed)) -> Option<(String, InvalidReason)> {
    let mut record = keyed();
    edit(&mut record);
    match record.validate() {
        Ok(()) => None,
        Err(Error::InvalidRecord {
            record_type,
            field,
            reason,
        }) => {
            assert_eq!(record_type, "lab.keyed");
            Some((field, reason))
        }
        Err(other) => panic!("expected InvalidRecord, got {other:?}"),
    }
}

/// Lucene's limit on one term, in UTF-8 bytes.
const TERM: usize = 32_766;

#[test]
fn keywords_longer_than_one_term_are_refused() {
    assert_eq!(keyed_refusal(|r| r.name = "x".repeat(TERM)), None);
    let too_long = InvalidReason::KeywordTooLong { bytes: TERM + 1 };
    assert_eq!(
        keyed_refusal(|r| r.name = "x".repeat(TERM + 1)),
        Some(at("name", too_long))
    );
    // Bytes count, not characters: 16,384 two-byte characters are 32,768 bytes.
    let accents = "é".repeat(16_384);
    assert_eq!(accents.chars().count(), 16_384);
    assert_eq!(
        keyed_refusal(|r| r.name = accents),
        Some(at("name", InvalidReason::KeywordTooLong { bytes: 32_768 }))
    );
    assert_eq!(
        keyed_refusal(|r| r.aliases[1] = "x".repeat(TERM + 1)),
        Some(at("aliases[1]", too_long))
    );
    let message = {
        let mut record = keyed();
        record.name = "x".repeat(TERM + 1);
        record.validate().unwrap_err().to_string()
    };
    assert!(
        message.starts_with("lab.keyed: field name is 32767 bytes long; "),
        "{message}"
    );
    assert!(message.contains("#[record(text)]"), "{message}");
}

#[test]
fn full_text_has_no_term_limit() {
    assert_eq!(
        keyed_refusal(|r| {
            r.body = "word ".repeat(20_000);
            r.notes = Some(vec![String::new(), "x".repeat(TERM + 1)]);
        }),
        None
    );
}

#[test]
fn flattened_entries_longer_than_one_term_are_refused() {
    // Elasticsearch indexes each entry of a flattened field as the term
    // `key\0value`: "k", the separator and the value must fit.
    assert_eq!(
        keyed_refusal(|r| {
            r.tags.insert("k".into(), "x".repeat(TERM - 2));
        }),
        None
    );
    assert_eq!(
        keyed_refusal(|r| {
            r.tags.insert("k".into(), "x".repeat(TERM - 1));
        }),
        Some(at(
            "tags.k",
            InvalidReason::MapEntryTooLong {
                key_bytes: 1,
                value_bytes: TERM - 1
            }
        ))
    );
}

#[test]
fn map_keys_that_cannot_name_a_field_are_refused() {
    let empty = InvalidReason::EmptyKeyPart;
    for key in ["", ".", "a.", ".a", "a..b"] {
        let expected = if key.is_empty() {
            "tags".to_owned()
        } else {
            format!("tags.{key}")
        };
        assert_eq!(
            keyed_refusal(|r| {
                r.tags.insert(key.into(), "v".into());
            }),
            Some((expected, empty)),
            "{key:?}"
        );
    }
    // Dotted keys are sub-keys of a flattened field, up to 20 parts deep.
    let twenty = vec!["k"; 20].join(".");
    assert_eq!(
        keyed_refusal(|r| {
            r.tags.insert(twenty.clone(), "v".into());
        }),
        None
    );
    let deep = format!("{twenty}.k");
    assert_eq!(
        keyed_refusal(|r| {
            r.tags.insert(deep.clone(), "v".into());
        }),
        Some((
            format!("tags.{deep}"),
            InvalidReason::KeyTooDeep { parts: 21 }
        ))
    );
    for key in ["a\u{0}b", "\u{1}"] {
        assert_eq!(
            keyed_refusal(|r| {
                r.tags.insert(key.into(), "v".into());
            }),
            Some((
                format!("tags.{key}"),
                InvalidReason::KeyWithReservedCharacter
            )),
            "{key:?}"
        );
        assert_eq!(
            keyed_refusal(|r| {
                r.counts.insert(key.into(), 1);
            }),
            Some((
                format!("counts.{key}"),
                InvalidReason::KeyWithReservedCharacter
            )),
            "{key:?}"
        );
    }
    // Keys that start with `_` or hold spaces are fine below the root.
    assert_eq!(
        keyed_refusal(|r| {
            r.tags.insert("_id".into(), "v".into());
            r.tags.insert(" ".into(), "v".into());
            r.counts.insert("_id".into(), 1);
            r.gauges.insert("load avg".into(), 1.0);
        }),
        None
    );
}

#[test]
fn numeric_map_keys_are_single_field_names() {
    assert_eq!(
        keyed_refusal(|r| {
            r.counts.insert(String::new(), 1);
        }),
        Some(at("counts", InvalidReason::EmptyKeyPart))
    );
    for key in ["cpu.user", ".", "a."] {
        assert_eq!(
            keyed_refusal(|r| {
                r.gauges.insert(key.into(), 1.0);
            }),
            Some((format!("gauges.{key}"), InvalidReason::DottedKey)),
            "{key:?}"
        );
    }
    for key in [" ", "\t\n"] {
        assert_eq!(
            keyed_refusal(|r| {
                r.counts.insert(key.into(), 1);
            }),
            Some((format!("counts.{key}"), InvalidReason::BlankKey)),
            "{key:?}"
        );
    }
    // Each key is a field of the index, which holds 1,000 by default.
    let many = |n: usize| (0..n).map(|i| (format!("k{i}"), 1.0)).collect();
    assert_eq!(keyed_refusal(|r| r.gauges = many(1_000)), None);
    assert_eq!(
        keyed_refusal(|r| r.gauges = many(1_001)),
        Some(at("gauges", InvalidReason::TooManyKeys { keys: 1_001 }))
    );
    let message = {
        let mut record = keyed();
        record.gauges.insert("cpu.user".into(), 1.0);
        record.validate().unwrap_err().to_string()
    };
    assert!(
        message.starts_with("lab.keyed: field gauges.cpu.user has a dot in its key; "),
        "{message}"
    );
}

#[test]
fn empty_lists_maps_and_nones_in_lists_are_valid() {
    assert_eq!(
        keyed_refusal(|r| {
            r.aliases.clear();
            r.tags.clear();
            r.counts.clear();
            r.gauges.clear();
            r.notes = Some(Vec::new());
        }),
        None
    );
    assert!(vec![None, Some(1.0_f64), None].check_value().is_ok());
    let err = vec![None, Some(f64::NAN)].check_value().unwrap_err();
    assert_eq!(
        (err.path(), err.reason()),
        ("[1]", InvalidReason::NotANumber)
    );
}

#[test]
fn floats_at_the_edges_are_valid_and_round_trip_through_json() {
    let doubles = [
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        5e-324,
        -0.0,
        f64::EPSILON,
        0.1 + 0.2,
        2.225_073_858_507_201e-308,
    ];
    for value in doubles {
        assert!(value.check_value().is_ok());
        let back: f64 = serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
        assert_eq!(back.to_bits(), value.to_bits(), "{value:e}");
    }
    let singles = [f32::MAX, f32::MIN, f32::MIN_POSITIVE, 1e-45, -0.0, 0.1];
    for value in singles {
        assert!(value.check_value().is_ok());
        let back: f32 = serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
        assert_eq!(back.to_bits(), value.to_bits(), "{value:e}");
    }
    // Any finite double, as serde writes it and reads it back.
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..100_000 {
        let value = f64::from_bits(rng.u64(..));
        if value.is_finite() {
            let back: f64 = serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
            assert_eq!(back.to_bits(), value.to_bits(), "{value:e}");
        }
    }
}
