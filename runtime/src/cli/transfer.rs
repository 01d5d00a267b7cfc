//! `import` and `export`: records as NDJSON, one JSON object a line, the
//! record as serde writes it (what `export` prints, `import` reads), or as
//! CSV ([`export::csv`](crate::export::csv)); `export` also writes an Arrow
//! IPC stream (with the `arrow` feature).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::{Context, Failure, Outcome, Selection, search};
use crate::dead_letter::DeadLetter;
use crate::error::Error;
use crate::export::csv::Columns;
use crate::operations::{self, RecordOperations};
use crate::record_type::RecordType;
use crate::store::Store;

/// The file format of `import`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ImportFormat {
    /// One JSON object a line.
    #[default]
    Ndjson,
    /// A header of the stored field names, then one record a row.
    Csv,
}

/// The output format of `export`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ExportFormat {
    /// One JSON object a line.
    #[default]
    Ndjson,
    /// A header of the stored field names, then one record a row.
    Csv,
    /// An Arrow IPC stream: the type's schema, then record batches (a
    /// binary built with esrecord's `arrow` feature).
    Arrow,
}

/// Records every line (or CSV row) of `file` (`-`: standard input) as a
/// record of the type. A line that does not read as the type, or that the
/// backend refuses, is written with its reason to the rejected file, and
/// the import goes on. Fails (exit 1) when any line was rejected.
pub(crate) async fn import(
    cx: &Context,
    name: &str,
    file: &Path,
    format: ImportFormat,
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
    let read = tokio::task::block_in_place(|| {
        let input = bar.wrap_read(input);
        let mut lines = Lines {
            operations,
            store: &store,
            rejects: &mut rejects,
            file,
        };
        match format {
            ImportFormat::Ndjson => lines.read_ndjson(input),
            ImportFormat::Csv => lines.read_csv(input, record_type),
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
/// object a line, one CSV row, or in the record batches of an Arrow stream.
pub(crate) async fn export(
    cx: &Context,
    selection: &Selection,
    format: ExportFormat,
) -> Result<Outcome, Failure> {
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
    let mut output = Output::open(format, record_type)?;
    let mut pipe_closed = false;
    let mut write = |hit: crate::search::Hit<Value>| -> crate::Result<()> {
        bar.inc(1);
        output.write(&hit.record)?.map_err(|e| {
            pipe_closed = e.kind() == ErrorKind::BrokenPipe;
            Error::io("write the export to", "standard output", e)
        })
    };
    let exported = operations.export(&store, &request, &mut write).await;
    bar.finish_and_clear();
    let flushed = output.finish();
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

type Stdout = BufWriter<std::io::Stdout>;

/// Where `export` writes.
enum Output {
    Ndjson(Stdout),
    Csv(Columns, Box<csv::Writer<Stdout>>),
    #[cfg(feature = "arrow")]
    Arrow(Box<crate::export::arrow::IpcStreamWriter<Stdout>>),
}

impl Output {
    /// Standard output in `format`, its header (or schema) written.
    fn open(format: ExportFormat, record_type: &RecordType) -> Result<Output, Failure> {
        let out = BufWriter::with_capacity(1 << 16, std::io::stdout());
        Ok(match format {
            ExportFormat::Ndjson => Output::Ndjson(out),
            ExportFormat::Csv => {
                let columns = Columns::of(record_type);
                let mut writer = csv::Writer::from_writer(out);
                writer
                    .write_record(columns.header())
                    .map_err(|e| Failure::failed(format!("cannot write the CSV header: {e}")))?;
                Output::Csv(columns, Box::new(writer))
            }
            #[cfg(feature = "arrow")]
            ExportFormat::Arrow => {
                use crate::export::arrow::{DEFAULT_BATCH_ROWS, IpcStreamWriter};
                let stream = IpcStreamWriter::new(record_type, out, DEFAULT_BATCH_ROWS)?;
                Output::Arrow(Box::new(stream))
            }
            #[cfg(not(feature = "arrow"))]
            ExportFormat::Arrow => {
                return Err(Failure::usage(
                    "this binary was built without esrecord's `arrow` feature: add it to the esrecord dependency (features = [\"arrow\"]), or export as ndjson or csv",
                ));
            }
        })
    }

    /// Writes one record. The outer error: the record has no row in this
    /// format.
    fn write(&mut self, record: &Value) -> crate::Result<std::io::Result<()>> {
        Ok(match self {
            Output::Ndjson(out) => writeln!(out, "{record}"),
            Output::Csv(columns, writer) => {
                let row = columns.row(record).map_err(|what| Error::Unsupported {
                    what,
                    hint: "export the type as ndjson (--format ndjson)",
                })?;
                writer.write_record(&row).map_err(csv_to_io)
            }
            #[cfg(feature = "arrow")]
            Output::Arrow(stream) => match stream.push(record) {
                Err(Error::Io { source, .. }) => Err(source),
                other => Ok(other?),
            },
        })
    }

    /// Writes what is still buffered (an Arrow stream's last batch and
    /// its end).
    fn finish(self) -> std::io::Result<()> {
        match self {
            Output::Ndjson(mut out) => out.flush(),
            Output::Csv(_, mut writer) => writer.flush(),
            #[cfg(feature = "arrow")]
            Output::Arrow(stream) => match stream.finish() {
                Ok(mut out) => out.flush(),
                Err(Error::Io { source, .. }) => Err(source),
                Err(other) => Err(std::io::Error::other(other.to_string())),
            },
        }
    }
}

/// The I/O error of a CSV error, with its kind (a closed pipe stays one).
fn csv_to_io(error: csv::Error) -> std::io::Error {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// An import under way: where its records go and its rejects.
struct Lines<'a> {
    operations: &'static dyn RecordOperations,
    store: &'a Store,
    rejects: &'a mut Rejects,
    file: &'a Path,
}

impl Lines<'_> {
    /// Records every line of NDJSON; returns how many were accepted.
    fn read_ndjson(&mut self, mut input: impl BufRead) -> Result<u64, Failure> {
        let mut line = Vec::new();
        let (mut number, mut accepted) = (0u64, 0u64);
        loop {
            line.clear();
            let read = input
                .read_until(b'\n', &mut line)
                .map_err(|e| self.cannot_read(e))?;
            if read == 0 {
                return Ok(accepted);
            }
            number += 1;
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            match self.operations.record_json(self.store, text) {
                Ok(()) => accepted += 1,
                Err(error) => self.rejects.add(Some(number), &error.to_string(), text)?,
            }
        }
    }

    /// Records every row of CSV whose header names the type's columns;
    /// returns how many were accepted.
    fn read_csv(&mut self, input: impl BufRead, record_type: &RecordType) -> Result<u64, Failure> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let header = reader.headers().map_err(|e| {
            Failure::usage(format!(
                "cannot read the CSV header of {}: {e}",
                self.file.display()
            ))
        })?;
        let rows = Columns::of(record_type)
            .reader(header)
            .map_err(|reason| Failure::usage(format!("{}: {reason}", self.file.display())))?;
        let mut accepted = 0u64;
        let mut row = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut row) {
                Ok(false) => return Ok(accepted),
                Ok(true) => {}
                Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                    return Err(self.cannot_read(e.into()));
                }
                Err(e) => {
                    let line = e.position().map(csv::Position::line);
                    self.rejects.add(line, &e.to_string(), b"")?;
                    continue;
                }
            }
            let line = row.position().map(csv::Position::line);
            let recorded = rows.record(&row).and_then(|record| {
                let source = record.to_string();
                self.operations
                    .record_json(self.store, source.as_bytes())
                    .map_err(|e| e.to_string())
            });
            match recorded {
                Ok(()) => accepted += 1,
                Err(reason) => self.rejects.add(line, &reason, &csv_line(&row))?,
            }
        }
    }

    fn cannot_read(&self, e: std::io::Error) -> Failure {
        Failure::failed(format!("cannot read {}: {e}", self.file.display()))
    }
}

/// A row as the CSV line it was read from (for the rejected file).
fn csv_line(row: &csv::StringRecord) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b' '))
        .from_writer(Vec::new());
    let _ = writer.write_record(row);
    writer.into_inner().map_or_else(
        |_| Vec::new(),
        |mut line| {
            line.pop();
            line
        },
    )
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
            "cannot open {}: {e}; give the path of an NDJSON or CSV file, or - for standard input",
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
