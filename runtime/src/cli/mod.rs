//! The operator binary that [`main!`](crate::main) generates: `types`,
//! `setup`, `check`, `indexes`, `search`, `plot`, `import`, `export`,
//! `metrics`, `rules`, `annotate` and `annotations` over every record type
//! linked into the program.
//!
//! Exit codes: 0 success, 1 a check failed or records were rejected, 2 a
//! usage or configuration error. Every error message says what to do next.

mod annotations;
mod chart;
mod conditions;
mod failure;
mod indexes;
mod markers;
mod metrics;
mod output;
mod plot;
mod rules;
mod search;
#[cfg(feature = "serve")]
mod serve;
mod setup;
mod times;
mod transfer;
mod types;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::record_type::RecordType;
use crate::registry;
use crate::store::Store;

pub(crate) use self::failure::{Failure, Outcome};

/// Operator commands for the record types linked into this program.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Operator commands for the esrecord record types linked into this program"
)]
struct Cli {
    /// The configuration file (default: $ESRECORD_CONFIG, else
    /// ./esrecord.toml, else $ESRECORD_URL, else an embedded store in
    /// $ESRECORD_DATA or ./esrecord-data).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Only the record types stored in this named backend.
    #[arg(long, global = true, value_name = "NAME")]
    backend: Option<String>,
    /// More detail on stderr (-v: what the store does, -vv: debugging).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Errors only: no progress bars, no summaries on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The record types: templates, patterns, timedepth, backend, retention.
    Types {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Creates or updates the templates; prints what changed.
    Setup {
        /// Only this type (repeatable); by default every type.
        #[arg(long = "type", value_name = "NAME")]
        types: Vec<String>,
        /// Says what would change, changes nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Exits 0 when every template is in sync, 1 naming each one that is not.
    Check {
        /// Only this type (repeatable); by default every type.
        #[arg(long = "type", value_name = "NAME")]
        types: Vec<String>,
    },
    /// The partitions, with document counts, sizes and expiry.
    Indexes {
        /// Only this type (repeatable); by default every type.
        #[arg(long = "type", value_name = "NAME")]
        types: Vec<String>,
        /// Only partitions older than their type's retention.
        #[arg(long)]
        expired: bool,
        /// Deletes the expired partitions (asks first, unless --yes).
        #[arg(long)]
        delete_expired: bool,
        /// Deletes without asking.
        #[arg(long, requires = "delete_expired")]
        yes: bool,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prints records of a type, newest last.
    Search {
        #[command(flatten)]
        selection: Selection,
        /// At most this many records: the newest.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// How to print them.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Charts a field over time, or a metric (--metric), in the terminal
    /// or as an SVG or PNG file.
    Plot {
        /// The record type (`shop.pageview`, `shop_pageview` or `pageview`).
        #[arg(value_name = "TYPE", required_unless_present = "metric")]
        record_type: Option<String>,
        /// The numeric field (dotted: latency.p99_ms); any field for --agg count.
        #[arg(required_unless_present = "metric")]
        field: Option<String>,
        #[command(flatten)]
        range: RangeArgs,
        /// A condition: FIELD=VALUE, FIELD!=VALUE, FIELD>VALUE, >=, <, <=
        /// (repeatable; all must hold).
        #[arg(long = "where", value_name = "CONDITION")]
        conditions: Vec<String>,
        /// The bucket length: 30s, 5m, 1h, 1d...
        #[arg(long, default_value = "1h")]
        interval: String,
        /// What each bucket shows.
        #[arg(long, value_enum, default_value_t = plot::Agg::Avg)]
        agg: plot::Agg,
        /// Charts this metric of the metrics reporter instead of a field,
        /// one point per reporting interval (default range: the last hour).
        #[arg(long, value_name = "NAME", conflicts_with_all = ["record_type", "field", "conditions"])]
        metric: Option<String>,
        /// Only the metric's label sets with KEY=VALUE (repeatable).
        #[arg(long = "tag", value_name = "KEY=VALUE", requires = "metric")]
        tags: Vec<String>,
        /// Which number of the metric: increase, total, last, count, sum,
        /// min, max, mean, p50, p75, p90, p95, p99, p999, rate, rate_mean,
        /// rate_m1, rate_m5, rate_m15 (default: increase for counters, last
        /// for gauges, mean for histograms).
        #[arg(long, value_name = "VALUE", requires = "metric")]
        value: Option<String>,
        /// Writes the chart to this .svg or .png file instead.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The image size in pixels, WIDTHxHEIGHT.
        #[arg(long, default_value = "1200x600")]
        size: String,
        /// Marks the annotations of this stream on the chart: under it in
        /// the terminal, with a legend; as vertical lines with their titles
        /// in an image.
        #[arg(long, value_name = "STREAM")]
        annotations: Option<String>,
    },
    /// Records the lines of an NDJSON file (one record per line), or the
    /// rows of a CSV file with a header of stored field names.
    Import {
        /// The record type.
        #[arg(value_name = "TYPE")]
        record_type: String,
        /// The file, or `-` for standard input.
        file: PathBuf,
        /// The file's format.
        #[arg(long, value_enum, default_value_t)]
        format: transfer::ImportFormat,
        /// Where rejected lines go, with their reasons (default: FILE.rejected.ndjson).
        #[arg(long, value_name = "FILE")]
        rejected: Option<PathBuf>,
    },
    /// Prints every record of a type, oldest first: as NDJSON, as CSV
    /// with a header of stored field names (which `import --format csv`
    /// reads back), or as an Arrow IPC stream (for Polars, DuckDB, pyarrow).
    Export {
        #[command(flatten)]
        selection: Selection,
        /// The output format.
        #[arg(long, value_enum, default_value_t)]
        format: transfer::ExportFormat,
    },
    /// The series the metrics reporter stored: name, kind, tags, points,
    /// last value (default range: the last hour).
    Metrics {
        #[command(flatten)]
        range: RangeArgs,
        /// Only names matching this pattern: `*` is any run of characters,
        /// `?` one (`http.*`, `*.seconds`).
        #[arg(long, value_name = "PATTERN")]
        name: Option<String>,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rules over the records: `rules check FILE` evaluates them once,
    /// `rules watch FILE` every interval.
    Rules {
        #[command(subcommand)]
        command: rules::RulesCommand,
    },
    /// Records an annotation (a deploy, an incident...) on a stream, to
    /// mark on plots with `plot --annotations STREAM`.
    Annotate(annotations::AnnotateArgs),
    /// Answers over HTTP as Elasticsearch does, for Grafana, the official
    /// clients and curl: the embedded store of the backend (`--backend`,
    /// else `default`). Ctrl-C stops.
    Serve {
        /// The address and port to listen on (default: `[serve] listen`,
        /// else 127.0.0.1:9200). An address other than loopback needs
        /// credentials under `[serve]`.
        #[arg(long, value_name = "ADDRESS:PORT")]
        listen: Option<std::net::SocketAddr>,
    },
    /// The annotations, oldest first: start, end, stream, title, source,
    /// links (default range: every annotation; one that lasts into the
    /// range counts).
    Annotations {
        /// Only this stream's.
        #[arg(long)]
        stream: Option<String>,
        #[command(flatten)]
        range: RangeArgs,
        /// At most this many: the newest.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
        limit: u64,
        /// As JSON, as stored.
        #[arg(long)]
        json: bool,
    },
}

/// The records a command is about: a type, a time range, conditions.
#[derive(Debug, Clone, clap::Args)]
struct Selection {
    /// The record type (`shop.pageview`, `shop_pageview` or `pageview`).
    #[arg(value_name = "TYPE")]
    record_type: String,
    #[command(flatten)]
    range: RangeArgs,
    /// A condition: FIELD=VALUE, FIELD!=VALUE, FIELD>VALUE, >=, <, <=
    /// (repeatable; all must hold).
    #[arg(long = "where", value_name = "CONDITION")]
    conditions: Vec<String>,
}

/// `--from` and `--until`.
#[derive(Debug, Clone, clap::Args)]
struct RangeArgs {
    /// From this time, inclusive: 2024, 2024-03, 2024-03-05, 2024-03-05T10,
    /// an RFC 3339 time, `now`, or a time ago: 90m, 12h, 7d, 2w.
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Until this time, exclusive (default: now when --from is given).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
}

/// How `search` prints records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Aligned columns, one per field.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// What every command works with.
#[derive(Debug)]
struct Context {
    config: Config,
    backend: Option<String>,
    quiet: bool,
}

impl Context {
    /// The registered types, of the `--backend` only when given.
    fn types(&self) -> Vec<&'static RecordType> {
        registry::types()
            .into_iter()
            .filter(|t| self.backend.as_deref().is_none_or(|b| t.backend() == b))
            .collect()
    }

    /// The types named by `--type` (all of [`types`](Self::types) when none).
    fn selected(&self, names: &[String]) -> Result<Vec<&'static RecordType>, Failure> {
        if names.is_empty() {
            return Ok(self.types());
        }
        names.iter().map(|name| self.find(name)).collect()
    }

    /// The type called `name`.
    fn find(&self, name: &str) -> Result<&'static RecordType, Failure> {
        let found = registry::find(name).map_err(Failure::from)?;
        match &self.backend {
            Some(backend) if found.backend() != backend => Err(Failure::usage(format!(
                "{} is stored in backend {:?}, not {backend:?}; leave out --backend or pick another type",
                found.rust_path(),
                found.backend()
            ))),
            _ => Ok(found),
        }
    }

    /// Opens the store (and with it the embedded engine's directory).
    fn open_store(&self) -> Result<Store, Failure> {
        Store::with_config(self.config.clone()).map_err(Failure::from)
    }

    /// Whether to draw progress bars: on a terminal, not quiet, not in CI.
    fn progress(&self) -> bool {
        use std::io::IsTerminal;
        !self.quiet && std::env::var_os("CI").is_none() && std::io::stderr().is_terminal()
    }
}

/// Runs the operator binary: parses the command line, runs the command,
/// and gives its exit code. What [`main!`](crate::main) calls.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

async fn run(cli: Cli) -> Result<Outcome, Failure> {
    let config = match &cli.config {
        Some(path) => Config::from_file(path),
        None => Config::from_environment(),
    }
    .map_err(Failure::config)?;
    if let Some(backend) = cli
        .backend
        .as_ref()
        .filter(|b| !config.backends.contains_key(*b))
    {
        let known: Vec<&str> = config.backends.keys().map(String::as_str).collect();
        return Err(Failure::usage(format!(
            "no backend named {backend:?} in the configuration; configured: {}",
            known.join(", ")
        )));
    }
    let cx = Context {
        config,
        backend: cli.backend,
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Types { json } => types::run(&cx, json),
        Command::Setup { types, dry_run } => setup::setup(&cx, &types, dry_run).await,
        Command::Check { types } => setup::check(&cx, &types).await,
        Command::Indexes {
            types,
            expired,
            delete_expired,
            yes,
            json,
        } => {
            let options = indexes::Options {
                expired_only: expired || delete_expired,
                delete: delete_expired,
                yes,
                json,
            };
            indexes::run(&cx, &types, options).await
        }
        Command::Search {
            selection,
            limit,
            format,
        } => search::run(&cx, &selection, limit, format).await,
        Command::Plot {
            record_type,
            field,
            range,
            conditions,
            interval,
            agg,
            metric,
            tags,
            value,
            out,
            size,
            annotations,
        } => match (metric, record_type, field) {
            (Some(name), _, _) => {
                let request = metrics::PlotRequest {
                    name,
                    tags,
                    value,
                    out,
                    size,
                    annotations,
                };
                metrics::plot(&cx, &range, request).await
            }
            (None, Some(record_type), Some(field)) => {
                let selection = Selection {
                    record_type,
                    range,
                    conditions,
                };
                let request = plot::Request {
                    field,
                    interval,
                    agg,
                    out,
                    size,
                    annotations,
                };
                plot::run(&cx, &selection, request).await
            }
            (None, _, _) => Err(Failure::usage(
                "plot needs a TYPE and a FIELD, or --metric NAME",
            )),
        },
        Command::Import {
            record_type,
            file,
            format,
            rejected,
        } => transfer::import(&cx, &record_type, &file, format, rejected).await,
        Command::Export { selection, format } => transfer::export(&cx, &selection, format).await,
        Command::Metrics { range, name, json } => {
            metrics::list(&cx, &range, name.as_deref(), json).await
        }
        Command::Rules { command } => rules::run(&cx, command).await,
        Command::Annotate(args) => annotations::annotate(&cx, args).await,
        #[cfg(feature = "serve")]
        Command::Serve { listen } => serve::run(&cx, listen).await,
        #[cfg(not(feature = "serve"))]
        Command::Serve { .. } => Err(Failure::usage(
            "this binary was built without esrecord's `serve` feature: add it to the esrecord dependency (features = [\"serve\"])",
        )),
        Command::Annotations {
            stream,
            range,
            limit,
            json,
        } => {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            annotations::list(&cx, stream.as_deref(), &range, limit, json).await
        }
    }
}

/// Logs to stderr: warnings by default, more with -v, errors only with -q.
fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
