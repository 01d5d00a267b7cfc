//! `indexes`: the partitions of the types, their document counts, sizes
//! and expiry, and the deletion of expired ones.

use std::io::{BufRead, IsTerminal, Write};

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::output::{bytes, print, print_json, table};
use super::types::type_name;
use super::{Context, Failure, Outcome};
use crate::store::{Partition, Store};

/// What `indexes` was asked to do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Only the expired partitions.
    pub(crate) expired_only: bool,
    /// Delete them.
    pub(crate) delete: bool,
    /// Without asking.
    pub(crate) yes: bool,
    /// Print JSON.
    pub(crate) json: bool,
}

/// When a partition expires, for the table.
fn expiry(partition: &Partition, now: DateTime<Utc>) -> String {
    if let Some(place) = &partition.stream {
        let write = if place.write_index {
            ", write index"
        } else {
            ""
        };
        let generation = place.generation;
        return match &place.phase {
            Some(phase) => format!("by ILM (generation {generation}, phase {phase}{write})"),
            None => format!("not managed by ILM (generation {generation}{write})"),
        };
    }
    match (partition.start, partition.expires) {
        (None, _) => "not one of the type's partitions; kept".to_owned(),
        (Some(_), None) => "never (no retention)".to_owned(),
        (Some(_), Some(t)) if t <= now => format!("expired {}", t.format("%Y-%m-%d %H:%M")),
        (Some(_), Some(t)) => t.format("%Y-%m-%d %H:%M").to_string(),
    }
}

fn as_json(partition: &Partition, now: DateTime<Utc>) -> Value {
    json!({
        "type": type_name(partition.record_type),
        "index": partition.info.name,
        "docs": partition.info.docs,
        "bytes": partition.info.bytes,
        "partition_start": partition.start.map(|t| t.to_rfc3339()),
        "expires": partition.expires.map(|t| t.to_rfc3339()),
        "expired": partition.is_expired(now),
        "data_stream": partition.stream.as_ref().map(|place| json!({
            "generation": place.generation,
            "write_index": place.write_index,
            "ilm_phase": place.phase,
        })),
    })
}

/// Lists the partitions of the types named (every type when none), and
/// deletes the expired ones when asked.
pub(crate) async fn run(
    cx: &Context,
    names: &[String],
    options: Options,
) -> Result<Outcome, Failure> {
    let types = cx.selected(names)?;
    let store = cx.open_store()?;
    let now = Utc::now();
    let mut partitions = Vec::new();
    for record_type in types {
        partitions.extend(store.partitions(record_type).await?);
    }
    if options.expired_only {
        partitions.retain(|p| p.is_expired(now));
    }
    if options.json {
        print_json(&Value::Array(
            partitions.iter().map(|p| as_json(p, now)).collect(),
        ))?;
    } else if partitions.is_empty() {
        print(if options.expired_only {
            "no expired partitions"
        } else {
            "no partitions"
        })?;
    } else {
        print(&listing(&partitions, now))?;
    }
    if !options.delete || partitions.is_empty() {
        return Ok(Outcome::Success);
    }
    if !options.yes && !confirmed(&partitions)? {
        eprintln!("nothing deleted");
        return Ok(Outcome::Success);
    }
    delete(cx, &store, &partitions).await
}

fn listing(partitions: &[Partition], now: DateTime<Utc>) -> String {
    let rows = partitions
        .iter()
        .map(|p| {
            vec![
                type_name(p.record_type),
                p.info.name.clone(),
                p.info.docs.to_string(),
                bytes(p.info.bytes),
                expiry(p, now),
            ]
        })
        .collect();
    table(&["type", "index", "docs", "size", "expires"], rows)
}

/// Asks on the terminal whether to delete; without a terminal, says to
/// pass `--yes`.
fn confirmed(partitions: &[Partition]) -> Result<bool, Failure> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::usage(
            "--delete-expired asks before deleting, and standard input is not a terminal: pass --yes to delete without asking",
        ));
    }
    let docs: u64 = partitions.iter().map(|p| p.info.docs).sum();
    eprint!(
        "Delete these {} partitions ({docs} documents)? [y/N] ",
        partitions.len()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::failed(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// Deletes the partitions, with a progress bar; goes on past a failure
/// and names every index it could not delete.
async fn delete(cx: &Context, store: &Store, partitions: &[Partition]) -> Result<Outcome, Failure> {
    let bar = if cx.progress() {
        ProgressBar::new(partitions.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut deleted, mut failures) = (0, Vec::new());
    for partition in partitions {
        // Only what parsed as a partition of its type can have expired.
        if partition.start.is_none() {
            continue;
        }
        bar.set_message(partition.info.name.clone());
        let backend = store.backend(partition.record_type.backend())?;
        match backend.delete_index(&partition.info.name).await {
            Ok(()) => deleted += 1,
            Err(error) => failures.push(format!("{}: {error}", partition.info.name)),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if !cx.quiet {
        eprintln!("deleted {deleted} partitions");
    }
    if failures.is_empty() {
        Ok(Outcome::Success)
    } else {
        eprintln!("could not delete:\n  {}", failures.join("\n  "));
        Ok(Outcome::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::IndexInfo;
    use crate::metrics::Metric;
    use crate::record::Record;
    use crate::store::StreamPlace;

    fn backing(phase: Option<&str>, write_index: bool) -> Partition {
        Partition {
            record_type: Metric::record_type(),
            info: IndexInfo {
                name: ".ds-esrecord_metric-2099.03.08-000002".into(),
                docs: 7,
                bytes: 1024,
            },
            start: None,
            expires: None,
            stream: Some(StreamPlace {
                generation: 2,
                write_index,
                phase: phase.map(str::to_owned),
            }),
        }
    }

    #[test]
    fn a_backing_index_shows_its_generation_phase_and_whether_it_is_written() {
        let now = Utc::now();
        assert_eq!(
            expiry(&backing(Some("hot"), true), now),
            "by ILM (generation 2, phase hot, write index)"
        );
        assert_eq!(
            expiry(&backing(None, false), now),
            "not managed by ILM (generation 2)"
        );
        let json = as_json(&backing(Some("warm"), false), now);
        assert_eq!(
            json["data_stream"],
            json!({"generation": 2, "write_index": false, "ilm_phase": "warm"})
        );
        assert_eq!(json["expired"], false);
    }
}
