//! `import` and `export`: records as NDJSON, one JSON object a line, the
//! record as serde writes it (what `export` prints, `import` reads).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::{Context, Failure, Outcome, Selection, search};
use crate::dead_letter::DeadLetter;
use crate::error::Error;
use crate::operations;
use crate::store::Store;

/// Records every line of `file` (`-`: standard input) as a record of the
/// type. A line that does not read as the type, or that the backend
/// refuses, is written with its reason to the rejected file, and the
/// import goes on. Fails (exit 1) when any line was rejected.
pub(crate) async fn import(
    cx: &Context,
    name: &str,
    file: &Path,
    rejected: Option<PathBuf>,
) -> Result<Outcome, Failure> {
    let record_type = cx.find(name)?;
    let (input, length) = open_input(file)?;
    let rejected_path = rejected.unwrap_or_else(|| rejected_path_for(file));
    let mut rejects = Rejects::new(rejected_path);
    let refused: Arc<Mutex<Vec<DeadLetter>>> = Arc::default();
    let store = Store::builder()
        .config(cx.config.clone())
        .on_dead_letter({
            let refused = Arc::clone(&refused);
            move |letter| {
                let mut refused = refused.lock().unwrap_or_else(PoisonError::into_inner);
                refused.push(letter.clone());
            }
        })
        .open()?;
    let bar = progress_bar(cx, length, "{bar:40} {bytes}/{total_bytes} {msg}");
    let operations = operations::of(record_type)?;
    // Recording blocks while the writer's queue is full: off the async
    // workers' hands.
    let read = tokio::task::block_in_place(|| -> Result<u64, Failure> {
        let mut input = bar.wrap_read(input);
        let mut line = Vec::new();
        let (mut number, mut accepted) = (0u64, 0u64);
        loop {
            line.clear();
            let read = input
                .read_until(b'\n', &mut line)
                .map_err(|e| Failure::failed(format!("cannot read {}: {e}", file.display())))?;
            if read == 0 {
                return Ok(accepted);
            }
            number += 1;
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            match operations.record_json(&store, text) {
                Ok(()) => accepted += 1,
                Err(error) => rejects.add(Some(number), &error.to_string(), text)?,
            }
        }
    });
    bar.finish_and_clear();
    let stats = store.close().await?;
    let accepted = read?;
    let letters = std::mem::take(&mut *refused.lock().unwrap_or_else(PoisonError::into_inner));
    for letter in &letters {
        let reason = match &letter.error_type {
            Some(kind) => format!("refused by the backend: {kind}: {}", letter.reason),
            None => format!("refused by the backend: {}", letter.reason),
        };
        rejects.add(None, &reason, letter.source.as_bytes())?;
    }
    let imported = accepted.saturating_sub(stats.failed + stats.dropped + stats.unsent);
    if !cx.quiet {
        eprintln!(
            "imported {imported} records of {}; rejected {}",
            record_type.template_name(),
            rejects.count
        );
        if rejects.count > 0 {
            eprintln!(
                "rejected lines, with their reasons: {}",
                rejects.path.display()
            );
        }
    }
    if stats.unsent > 0 {
        return Err(Failure::failed(format!(
            "{} records were not written before the store closed ({}); import the file again: records of types with unique_together overwrite themselves, others are added again",
            stats.unsent,
            stats.last_error.as_deref().unwrap_or("no error reported")
        )));
    }
    Ok(if rejects.count == 0 {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// Prints every record of the type that matches, oldest first, one JSON
/// object a line.
pub(crate) async fn export(cx: &Context, selection: &Selection) -> Result<Outcome, Failure> {
    let (record_type, mut request) = search::request(cx, selection, 0)?;
    let store = cx.open_store()?;
    let operations = operations::of(record_type)?;
    // The count is for the progress bar only.
    let total = if cx.progress() {
        Some(operations.search(&store, &request).await?.total)
    } else {
        None
    };
    request.limit = 1_000;
    let bar = progress_bar(cx, total, "{bar:40} {pos}/{len} records");
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout());
    let mut pipe_closed = false;
    let mut write = |hit: crate::search::Hit<Value>| -> crate::Result<()> {
        bar.inc(1);
        writeln!(out, "{}", hit.record).map_err(|e| {
            pipe_closed = e.kind() == ErrorKind::BrokenPipe;
            Error::io("write the export to", "standard output", e)
        })
    };
    let exported = operations.export(&store, &request, &mut write).await;
    bar.finish_and_clear();
    let flushed = out.flush();
    match exported {
        Err(_) if pipe_closed => return Ok(Outcome::Success),
        Err(error) => return Err(error.into()),
        Ok(count) if !cx.quiet => eprintln!(
            "exported {count} records of {}",
            record_type.template_name()
        ),
        Ok(_) => {}
    }
    flushed.map_err(|e| Failure::failed(format!("cannot write to standard output: {e}")))?;
    Ok(Outcome::Success)
}

/// The lines rejected so far, written as they come to their file (made at
/// the first one): `{"line": 3, "reason": "...", "source": "..."}`.
struct Rejects {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    count: u64,
}

impl Rejects {
    fn new(path: PathBuf) -> Self {
        Rejects {
            path,
            file: None,
            count: 0,
        }
    }

    fn add(&mut self, line: Option<u64>, reason: &str, source: &[u8]) -> Result<(), Failure> {
        let cannot = |e: std::io::Error| {
            Failure::failed(format!(
                "cannot write the rejected lines to {}: {e}; pass --rejected with a writable path",
                self.path.display()
            ))
        };
        if self.file.is_none() {
            self.file = Some(BufWriter::new(File::create(&self.path).map_err(cannot)?));
        }
        let entry = json!({
            "line": line,
            "reason": reason,
            "source": String::from_utf8_lossy(source),
        });
        if let Some(file) = &mut self.file {
            writeln!(file, "{entry}")
                .and_then(|()| file.flush())
                .map_err(cannot)?;
        }
        self.count += 1;
        Ok(())
    }
}

/// The file to read (`-`: standard input), and its length when known.
fn open_input(file: &Path) -> Result<(Box<dyn BufRead + Send>, Option<u64>), Failure> {
    if file == Path::new("-") {
        return Ok((Box::new(BufReader::new(std::io::stdin())), None));
    }
    let opened = File::open(file).map_err(|e| {
        Failure::usage(format!(
            "cannot open {}: {e}; give the path of an NDJSON file, or - for standard input",
            file.display()
        ))
    })?;
    let length = opened.metadata().ok().map(|m| m.len());
    Ok((Box::new(BufReader::with_capacity(1 << 16, opened)), length))
}

/// `events.ndjson` -> `events.ndjson.rejected.ndjson`; standard input's
/// go to `rejected.ndjson`.
fn rejected_path_for(file: &Path) -> PathBuf {
    if file == Path::new("-") {
        return PathBuf::from("rejected.ndjson");
    }
    let mut name = file.as_os_str().to_owned();
    name.push(".rejected.ndjson");
    PathBuf::from(name)
}

/// A progress bar on stderr when [`Context::progress`] allows one.
fn progress_bar(cx: &Context, length: Option<u64>, template: &str) -> ProgressBar {
    if !cx.progress() {
        return ProgressBar::hidden();
    }
    let bar = match length {
        Some(length) => ProgressBar::new(length),
        None => ProgressBar::new_spinner(),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
