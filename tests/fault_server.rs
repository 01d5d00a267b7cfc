//! A loopback HTTP/1.1 server standing in for Elasticsearch, which fails on
//! a seeded schedule: whole `_bulk` requests answered 429 or 503, connections
//! reset (before or after storing), answers delayed or lost (a proxy's 502
//! after the documents were stored), single items answered 429, and
//! documents a predicate picks refused for good (400
//! `mapper_parsing_exception`).
//!
//! It answers what esrecord's Elasticsearch backend sends: `GET`/`PUT`/
//! `DELETE _index_template/{name}`, `POST [{index}/]_bulk` (`create` and
//! `index` actions; documents kept by id, a second `create` of an id is a
//! 409 `version_conflict_engine_exception`, `index` overwrites), any
//! `_refresh`, and `GET /`. Every answer carries `x-elastic-product:
//! Elasticsearch`; bodies are JSON, as Elasticsearch documents them, except
//! the lost answer's 502, which is a proxy's plain text.
//!
//! The server runs on a small runtime of its own, so a test may block its
//! own thread (in `Store::record`, when the queue is full) without starving
//! the server. [`FaultServer::stop`] is an outage: the port refuses
//! connections and every open one is closed, until
//! [`FaultServer::restart`]. Dropping the server stops everything it
//! started.
//!
//! The fault schedule is deterministic for a given seed and order of
//! `_bulk` requests: the n-th request since the plan was set draws its
//! faults from a generator seeded with the plan's seed and n, a fixed
//! number of draws per request and per document, whatever happened before.
//!
//! Limits: 256 connections at once (more wait to be accepted), request
//! lines and headers of 16 KiB, 100 headers, bodies of 100 MiB (as
//! Elasticsearch's `http.max_content_length`; also after gzip
//! decompression), 10 million documents kept, 120 s idle per connection and
//! 30 s to read a request once it began.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// Connections served at once; further ones wait in the listen backlog.
const MAX_CONNECTIONS: usize = 256;
/// The longest request line or header line.
const MAX_LINE: usize = 16 * 1024;
/// The most header lines in a request.
const MAX_HEADERS: usize = 100;
/// The largest request body (Elasticsearch's default
/// `http.max_content_length`), also once decompressed.
const MAX_BODY: usize = 100 * 1024 * 1024;
/// The most documents kept (further new ones are refused with a 400).
const MAX_DOCUMENTS: usize = 10_000_000;
/// How long a connection may wait for its next request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long reading a request may take once its first line came.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest delay a plan may ask for.
const MAX_DELAY_MS: u64 = 60_000;

/// Decides whether a document (its parsed source) is refused for good.
pub type Refusal = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// What goes wrong, and how often: each probability is per `_bulk` request
/// (per document for `item_too_many_requests`). The whole-request faults
/// exclude one another and are drawn in the order of the fields (their sum
/// should not pass 1; what passes it never happens); a delay may come on
/// top of any of them. `Default` is no faults at all.
///
/// ```
/// use esrecord_tests::fault_server::FaultPlan;
/// let plan = FaultPlan {
///     seed: 7,
///     too_many_requests: 0.1,
///     reset_after_storing: 0.05,
///     ..FaultPlan::default()
/// }
/// .refusing(|source| source["item_id"].as_u64().is_some_and(|id| id % 97 == 0));
/// assert!(plan.validate().is_ok());
/// ```
#[derive(Clone)]
pub struct FaultPlan {
    /// Seeds the schedule.
    pub seed: u64,
    /// The whole request answered 429 `es_rejected_execution_exception`,
    /// nothing stored.
    pub too_many_requests: f64,
    /// The whole request answered 503 `unavailable_shards_exception`,
    /// nothing stored.
    pub unavailable: f64,
    /// The connection reset (`SO_LINGER` 0) without an answer, nothing
    /// stored.
    pub reset_before_storing: f64,
    /// The documents stored as they would have been answered, then the
    /// connection reset without an answer.
    pub reset_after_storing: f64,
    /// The documents stored as they would have been answered, then a
    /// proxy's 502 `Bad Gateway` in plain text instead of the answer.
    pub answer_lost: f64,
    /// The answer (or reset) comes after a delay drawn from `delay_ms`;
    /// documents are stored at once, so a client that times out first
    /// finds them stored when it sends them again.
    pub delayed: f64,
    /// The delays, in milliseconds (at most 60 s).
    pub delay_ms: RangeInclusive<u64>,
    /// Each document of a request that gets to be stored (answered, reset
    /// after storing, or its answer lost) answered 429
    /// `es_rejected_execution_exception` instead, not stored.
    pub item_too_many_requests: f64,
    /// Documents refused for good, answered 400 `mapper_parsing_exception`
    /// whenever they come (the predicate must not panic).
    pub refuse: Option<Refusal>,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            seed: 0,
            too_many_requests: 0.0,
            unavailable: 0.0,
            reset_before_storing: 0.0,
            reset_after_storing: 0.0,
            answer_lost: 0.0,
            delayed: 0.0,
            delay_ms: 0..=0,
            item_too_many_requests: 0.0,
            refuse: None,
        }
    }
}

impl fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultPlan")
            .field("seed", &self.seed)
            .field("too_many_requests", &self.too_many_requests)
            .field("unavailable", &self.unavailable)
            .field("reset_before_storing", &self.reset_before_storing)
            .field("reset_after_storing", &self.reset_after_storing)
            .field("answer_lost", &self.answer_lost)
            .field("delayed", &self.delayed)
            .field("delay_ms", &self.delay_ms)
            .field("item_too_many_requests", &self.item_too_many_requests)
            .field("refuse", &self.refuse.as_ref().map(|_| "<predicate>"))
            .finish()
    }
}

impl FaultPlan {
    /// The plan, refusing for good the documents `predicate` picks.
    pub fn refusing(mut self, predicate: impl Fn(&Value) -> bool + Send + Sync + 'static) -> Self {
        self.refuse = Some(Arc::new(predicate));
        self
    }

    /// Checks that every probability is between 0 and 1 and the delays are
    /// a range of at most 60 s.
    pub fn validate(&self) -> std::io::Result<()> {
        let probabilities = [
            ("too_many_requests", self.too_many_requests),
            ("unavailable", self.unavailable),
            ("reset_before_storing", self.reset_before_storing),
            ("reset_after_storing", self.reset_after_storing),
            ("answer_lost", self.answer_lost),
            ("delayed", self.delayed),
            ("item_too_many_requests", self.item_too_many_requests),
        ];
        for (name, p) in probabilities {
            if !(0.0..=1.0).contains(&p) {
                return Err(invalid(format!(
                    "the fault plan's {name} is {p}, not a probability"
                )));
            }
        }
        if self.delay_ms.is_empty() || *self.delay_ms.end() > MAX_DELAY_MS {
            return Err(invalid(format!(
                "the fault plan's delay_ms {:?} is not a range within 0..={MAX_DELAY_MS}",
                self.delay_ms
            )));
        }
        Ok(())
    }

    /// The whole-request fault the roll `roll` (in `[0, 1)`) picks.
    fn request_fault(&self, roll: f64) -> RequestFault {
        let faults = [
            (self.too_many_requests, RequestFault::TooManyRequests),
            (self.unavailable, RequestFault::Unavailable),
            (self.reset_before_storing, RequestFault::ResetBeforeStoring),
            (self.reset_after_storing, RequestFault::ResetAfterStoring),
            (self.answer_lost, RequestFault::AnswerLost),
        ];
        let mut below = 0.0;
        for (p, fault) in faults {
            below += p;
            if roll < below {
                return fault;
            }
        }
        RequestFault::None
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestFault {
    None,
    TooManyRequests,
    Unavailable,
    ResetBeforeStoring,
    ResetAfterStoring,
    AnswerLost,
}

/// What the server did, since it started. Documents of requests whose
/// answer was lost or reset count as what the server did with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Connections accepted.
    pub connections: u64,
    /// `_bulk` requests read in full.
    pub bulk_requests: u64,
    /// `_bulk` requests answered 200 with their items.
    pub answered_200: u64,
    /// `_bulk` requests answered 429 as a whole.
    pub answered_429: u64,
    /// `_bulk` requests answered 503 as a whole.
    pub answered_503: u64,
    /// `_bulk` requests whose connection was reset before storing anything.
    pub reset_before_storing: u64,
    /// `_bulk` requests whose connection was reset after storing.
    pub reset_after_storing: u64,
    /// `_bulk` requests stored, then answered 502 (the answer lost).
    pub answer_lost: u64,
    /// `_bulk` requests answered (or reset) after a delay.
    pub delayed: u64,
    /// Requests of any kind answered 4xx for what they sent (malformed,
    /// too large, unknown endpoint).
    pub bad_requests: u64,
    /// Requests other than `_bulk` answered (templates, refreshes, `/`).
    pub other_requests: u64,
    /// Documents in the `_bulk` requests read, whatever became of them.
    pub items_received: u64,
    /// Documents stored under a new id (201 `created`).
    pub items_created: u64,
    /// Documents that replaced the one under their id (`index`, 200
    /// `updated`).
    pub items_overwritten: u64,
    /// `create`s of an id already stored (409).
    pub items_conflicted: u64,
    /// Documents answered 429 on their own.
    pub items_429: u64,
    /// Documents the plan refused (400 `mapper_parsing_exception`).
    pub items_refused: u64,
    /// Documents answered 400 for what they are (a source that is not a
    /// JSON object, or no room left).
    pub items_invalid: u64,
}

impl FaultCounts {
    /// Resets, before and after storing.
    pub fn resets(&self) -> u64 {
        self.reset_before_storing + self.reset_after_storing
    }
}

impl fmt::Display for FaultCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connections; {} bulk requests: {} answered 200, {} 429, {} 503, {} reset before storing, \
             {} reset after storing, {} answer lost (502), {} delayed; {} bad requests, {} other requests; \
             {} documents received: {} created, {} overwritten, {} conflicted (409), {} item 429, \
             {} refused (400), {} invalid",
            self.connections,
            self.bulk_requests,
            self.answered_200,
            self.answered_429,
            self.answered_503,
            self.reset_before_storing,
            self.reset_after_storing,
            self.answer_lost,
            self.delayed,
            self.bad_requests,
            self.other_requests,
            self.items_received,
            self.items_created,
            self.items_overwritten,
            self.items_conflicted,
            self.items_429,
            self.items_refused,
            self.items_invalid,
        )
    }
}

/// A document as the server keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// The index it was written to.
    pub index: String,
    /// Its source, as sent (one NDJSON line).
    pub source: String,
    /// How many times it was written (created, then overwritten) or, for a
    /// refused document, refused.
    pub writes: u64,
    /// When the server first received it.
    pub arrived: Instant,
}

impl StoredDocument {
    /// The source, parsed.
    pub fn json(&self) -> serde_json::Result<Value> {
        serde_json::from_str(&self.source)
    }
}

/// What the connections share.
#[derive(Default)]
struct State {
    plan: FaultPlan,
    /// `_bulk` requests since the plan was set: the next one's place in
    /// the schedule.
    scheduled: u64,
    counts: FaultCounts,
    documents: HashMap<String, StoredDocument>,
    refused: HashMap<String, StoredDocument>,
    templates: BTreeMap<String, Value>,
    /// For documents sent without an id.
    next_generated_id: u64,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain data, consistent between statements whatever a panic
        // interrupted.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The accepting side while the server runs.
struct Acceptor {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// The server. See the module's documentation.
pub struct FaultServer {
    address: SocketAddr,
    shared: Arc<Shared>,
    acceptor: tokio::sync::Mutex<Option<Acceptor>>,
    /// The server's own runtime; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for FaultServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultServer")
            .field("address", &self.address)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

impl FaultServer {
    /// Starts a server on a free loopback port, failing as `plan` says.
    pub async fn start(plan: FaultPlan) -> std::io::Result<FaultServer> {
        FaultServer::start_on(0, plan).await
    }

    /// Starts a server on loopback port `port` (0: a free one).
    pub async fn start_on(port: u16, plan: FaultPlan) -> std::io::Result<FaultServer> {
        plan.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fault-server")
            .enable_io()
            .enable_time()
            .build()?;
        let listener = listen(&runtime, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        shared.lock().plan = plan;
        let acceptor = spawn_acceptor(&runtime, listener, &shared);
        Ok(FaultServer {
            address,
            shared,
            acceptor: tokio::sync::Mutex::new(Some(acceptor)),
            runtime: Some(runtime),
        })
    }

    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The address it listens on (also while stopped: where it comes back).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// An outage: stops accepting (the port refuses connections) and closes
    /// every open connection, answering nothing more. What was stored stays.
    pub async fn stop(&self) {
        let acceptor = self.acceptor.lock().await.take();
        if let Some(acceptor) = acceptor {
            let _ = acceptor.shutdown.send(());
            // Ends once the listener is closed and every connection with it.
            let _ = acceptor.task.await;
        }
    }

    /// Accepts connections again, on the same port (nothing if it runs).
    pub async fn restart(&self) -> std::io::Result<()> {
        let mut acceptor = self.acceptor.lock().await;
        if acceptor.is_some() {
            return Ok(());
        }
        let runtime = self.runtime()?;
        let listener = listen(runtime, self.address)?;
        *acceptor = Some(spawn_acceptor(runtime, listener, &self.shared));
        Ok(())
    }

    /// Whether it accepts connections (started or restarted, not stopped).
    pub async fn is_running(&self) -> bool {
        self.acceptor.lock().await.is_some()
    }

    /// Fails as `plan` says from the next `_bulk` request on, whose
    /// schedule starts again from the plan's seed.
    pub fn set_plan(&self, plan: FaultPlan) -> std::io::Result<()> {
        plan.validate()?;
        let mut state = self.shared.lock();
        state.plan = plan;
        state.scheduled = 0;
        Ok(())
    }

    /// What the server did so far.
    pub fn counts(&self) -> FaultCounts {
        self.shared.lock().counts
    }

    /// The documents stored, by id.
    pub fn documents(&self) -> HashMap<String, StoredDocument> {
        self.shared.lock().documents.clone()
    }

    /// The document stored under `id`.
    pub fn document(&self, id: &str) -> Option<StoredDocument> {
        self.shared.lock().documents.get(id).cloned()
    }

    /// How many documents are stored.
    pub fn document_count(&self) -> usize {
        self.shared.lock().documents.len()
    }

    /// The documents the plan refused, by id (`writes`: how many times).
    pub fn refused(&self) -> HashMap<String, StoredDocument> {
        self.shared.lock().refused.clone()
    }

    /// The index templates stored, by name.
    pub fn templates(&self) -> BTreeMap<String, Value> {
        self.shared.lock().templates.clone()
    }

    /// Stores an index template, as `PUT _index_template/{name}` would.
    pub fn put_template(&self, name: &str, body: Value) {
        self.shared.lock().templates.insert(name.to_owned(), body);
    }

    fn runtime(&self) -> std::io::Result<&tokio::runtime::Runtime> {
        self.runtime
            .as_ref()
            .ok_or_else(|| std::io::Error::other("the fault server is shutting down"))
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        // Drops every task (listener, connections, delays) without waiting,
        // which is allowed inside another runtime too.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A listener on `address`, registered with `runtime`.
fn listen(runtime: &tokio::runtime::Runtime, address: SocketAddr) -> std::io::Result<TcpListener> {
    let _entered = runtime.enter();
    let socket = TcpSocket::new_v4()?;
    // Coming back on the port of a stopped server while its closed
    // connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(1024)
}

fn spawn_acceptor(
    runtime: &tokio::runtime::Runtime,
    listener: TcpListener,
    shared: &Arc<Shared>,
) -> Acceptor {
    let (shutdown, stopped) = oneshot::channel();
    let task = runtime.spawn(accept(listener, Arc::clone(shared), stopped));
    Acceptor { shutdown, task }
}

/// Accepts connections until told to stop (or the sender is gone), then
/// closes the listener and every connection.
async fn accept(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept(), if connections.len() < MAX_CONNECTIONS => match accepted {
                Ok((stream, _)) => {
                    shared.lock().counts.connections += 1;
                    connections.spawn(serve(stream, Arc::clone(&shared)));
                }
                // Out of file descriptors, or a connection that went away
                // before it was accepted: try again shortly.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
        }
    }
    drop(listener);
    connections.shutdown().await;
}

/// A request, read in full.
struct Request {
    method: String,
    target: String,
    body: Vec<u8>,
    /// The client asked to close the connection after the answer.
    close: bool,
}

/// What to do with a request.
enum Outcome {
    Answer(Answer),
    /// Close the connection with a reset, answering nothing.
    Reset,
}

struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    /// Close the connection after it (the request could not be framed).
    close: bool,
}

impl Answer {
    fn json(status: u16, body: &Value) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            body: body.to_string().into_bytes(),
            close: false,
        }
    }

    /// An error as Elasticsearch reports it.
    fn error(status: u16, error_type: &str, reason: &str) -> Answer {
        Answer::json(status, &error_body(status, error_type, reason))
    }

    fn closing(mut self) -> Answer {
        self.close = true;
        self
    }
}

fn error_body(status: u16, error_type: &str, reason: &str) -> Value {
    json!({
        "error": {
            "root_cause": [{"type": error_type, "reason": reason}],
            "type": error_type,
            "reason": reason,
        },
        "status": status,
    })
}

/// Serves one connection, request after request, until the client closes
/// it, it idles too long, a request cannot be framed, or a reset is due.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader).await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(Unreadable::Io) => return,
            Err(Unreadable::Bad(answer)) => {
                shared.lock().counts.bad_requests += 1;
                let _ = write_answer(reader.get_mut(), &answer.closing(), false).await;
                return;
            }
        };
        let (outcome, delay) = respond(&shared, &request);
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        match outcome {
            Outcome::Reset => {
                // SO_LINGER 0: closing sends a reset rather than a FIN.
                let _ = reader.get_ref().set_zero_linger();
                return;
            }
            Outcome::Answer(answer) => {
                let head_only = request.method == "HEAD";
                let close = answer.close || request.close;
                if write_answer(reader.get_mut(), &answer, head_only)
                    .await
                    .is_err()
                    || close
                {
                    return;
                }
            }
        }
    }
}

/// Why a request could not be read.
enum Unreadable {
    /// The connection failed or timed out: nothing to answer.
    Io,
    /// Malformed or too large: answer, then close.
    Bad(Answer),
}

impl From<std::io::Error> for Unreadable {
    fn from(_: std::io::Error) -> Self {
        Unreadable::Io
    }
}

fn bad(status: u16, reason: &str) -> Unreadable {
    let error_type = if status == 413 {
        "content_too_long_exception"
    } else {
        "illegal_argument_exception"
    };
    Unreadable::Bad(Answer::error(status, error_type, reason))
}

/// The next request, or `None` when the client closed the connection
/// between requests (or idled too long).
async fn read_request(reader: &mut BufReader<TcpStream>) -> Result<Option<Request>, Unreadable> {
    let mut line = Vec::new();
    // The request line, after any empty lines.
    loop {
        line.clear();
        let read = tokio::time::timeout(IDLE_TIMEOUT, read_line(reader, &mut line)).await;
        match read {
            Err(_) => return Ok(None),
            Ok(Ok(0)) => return Ok(None),
            Ok(Ok(_)) if trim_line(&line).is_empty() => continue,
            Ok(Ok(_)) => break,
            Ok(Err(error)) => return Err(error),
        }
    }
    match tokio::time::timeout(READ_TIMEOUT, read_rest(reader, &line)).await {
        Ok(read) => read.map(Some),
        Err(_) => Err(Unreadable::Io),
    }
}

/// Reads one line of at most `MAX_LINE` bytes into `line`; the byte count,
/// 0 at the end of the stream.
async fn read_line(
    reader: &mut BufReader<TcpStream>,
    line: &mut Vec<u8>,
) -> Result<usize, Unreadable> {
    let read = (&mut *reader)
        .take(MAX_LINE as u64)
        .read_until(b'\n', line)
        .await?;
    if read > 0 && line.last() != Some(&b'\n') {
        return Err(if read >= MAX_LINE {
            bad(431, "a request line or header is longer than 16 KiB")
        } else {
            // The connection ended in the middle of a line.
            Unreadable::Io
        });
    }
    Ok(read)
}

fn trim_line(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n")
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .unwrap_or(line)
}

/// The headers and body of the request whose first line is `first`.
async fn read_rest(reader: &mut BufReader<TcpStream>, first: &[u8]) -> Result<Request, Unreadable> {
    let first = std::str::from_utf8(trim_line(first))
        .map_err(|_| bad(400, "the request line is not UTF-8"))?;
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(400, "the request line is not `METHOD TARGET HTTP/1.1`"));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Err(bad(
            400,
            "the request line is not `METHOD /target HTTP/1.1`",
        ));
    }
    let mut close = version == "HTTP/1.0";
    let mut length: Option<usize> = None;
    let mut gzip = false;
    let mut line = Vec::new();
    let mut headers = 0;
    loop {
        line.clear();
        if read_line(reader, &mut line).await? == 0 {
            return Err(Unreadable::Io);
        }
        let header = trim_line(&line);
        if header.is_empty() {
            break;
        }
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(bad(431, "more than 100 headers"));
        }
        let header = std::str::from_utf8(header).map_err(|_| bad(400, "a header is not UTF-8"))?;
        let Some((name, value)) = header.split_once(':') else {
            return Err(bad(400, "a header without a colon"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let parsed: usize = value
                .parse()
                .map_err(|_| bad(400, "the content-length is not a number"))?;
            if length.is_some_and(|l| l != parsed) {
                return Err(bad(400, "two different content-lengths"));
            }
            length = Some(parsed);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(bad(
                411,
                "the fault server reads only bodies with a content-length",
            ));
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                close = true;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                close = false;
            }
        } else if name.eq_ignore_ascii_case("content-encoding") {
            if value.eq_ignore_ascii_case("gzip") {
                gzip = true;
            } else if !value.eq_ignore_ascii_case("identity") {
                return Err(bad(415, "bodies may be gzip-compressed, nothing else"));
            }
        }
    }
    let length = length.unwrap_or(0);
    if length > MAX_BODY {
        return Err(bad(413, "the request body is larger than 100 MiB"));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    if gzip {
        body = gunzip(&body)?;
    }
    Ok(Request {
        method: method.to_owned(),
        target: target.to_owned(),
        body,
        close,
    })
}

/// A gzip body, decompressed (at most `MAX_BODY` bytes).
fn gunzip(body: &[u8]) -> Result<Vec<u8>, Unreadable> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| bad(400, "the body is not valid gzip"))?;
    if out.len() > MAX_BODY {
        return Err(bad(
            413,
            "the request body is larger than 100 MiB once decompressed",
        ));
    }
    Ok(out)
}

async fn write_answer(
    stream: &mut TcpStream,
    answer: &Answer,
    head_only: bool,
) -> std::io::Result<()> {
    let mut bytes = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\nx-elastic-product: Elasticsearch\r\ncontent-length: {}\r\n{}\r\n",
        answer.status,
        reason_phrase(answer.status),
        answer.content_type,
        answer.body.len(),
        if answer.close { "connection: close\r\n" } else { "" },
    )
    .into_bytes();
    if !head_only {
        bytes.extend_from_slice(&answer.body);
    }
    stream.write_all(&bytes).await?;
    stream.flush().await
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// The answer to `request` (or a reset), and how long to wait first.
fn respond(shared: &Shared, request: &Request) -> (Outcome, Option<Duration>) {
    let path = request.target.split('?').next().unwrap_or_default();
    let method = request.method.as_str();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let answer = match (method, segments.as_slice()) {
        ("POST" | "PUT", ["_bulk"]) => return bulk(shared, None, &request.body),
        ("POST" | "PUT", [index, "_bulk"]) if !index.is_empty() => {
            return bulk(shared, Some(index), &request.body);
        }
        (_, ["_index_template", name]) if !name.is_empty() => {
            template(shared, method, name, &request.body)
        }
        ("GET" | "POST", ["_refresh"] | [_, "_refresh"]) => Answer::json(
            200,
            &json!({"_shards": {"total": 1, "successful": 1, "failed": 0}}),
        ),
        ("GET" | "HEAD", [""]) => Answer::json(
            200,
            &json!({
                "name": "fault-server",
                "cluster_name": "esrecord-fault-server",
                "cluster_uuid": "fault-server-0000000000",
                "version": {
                    "number": "9.1.0",
                    "build_flavor": "default",
                    "build_type": "docker",
                    "lucene_version": "10.2.2",
                    "minimum_wire_compatibility_version": "8.19.0",
                    "minimum_index_compatibility_version": "8.0.0",
                },
                "tagline": "You Know, for Search",
            }),
        ),
        _ => Answer::json(
            400,
            &json!({"error": format!("no handler found for uri [{}] and method [{method}]", request.target), "status": 400}),
        ),
    };
    let mut state = shared.lock();
    if answer.status >= 400 && answer.status != 404 {
        state.counts.bad_requests += 1;
    } else {
        state.counts.other_requests += 1;
    }
    (Outcome::Answer(answer), None)
}

fn template(shared: &Shared, method: &str, name: &str, body: &[u8]) -> Answer {
    let missing = || {
        Answer::error(
            404,
            "resource_not_found_exception",
            &format!("index template matching [{name}] not found"),
        )
    };
    match method {
        "GET" | "HEAD" => match shared.lock().templates.get(name) {
            Some(stored) => Answer::json(
                200,
                &json!({"index_templates": [{"name": name, "index_template": stored}]}),
            ),
            None => missing(),
        },
        "PUT" | "POST" => match serde_json::from_slice::<Value>(body) {
            Ok(template @ Value::Object(_)) => {
                shared.lock().templates.insert(name.to_owned(), template);
                Answer::json(200, &json!({"acknowledged": true}))
            }
            _ => Answer::error(
                400,
                "x_content_parse_exception",
                "the index template is not a JSON object",
            ),
        },
        "DELETE" => match shared.lock().templates.remove(name) {
            Some(_) => Answer::json(200, &json!({"acknowledged": true})),
            None => missing(),
        },
        _ => Answer::json(
            405,
            &json!({"error": format!("Incorrect HTTP method for uri [/_index_template/{name}] and method [{method}], allowed: [GET, PUT, POST, DELETE, HEAD]"), "status": 405}),
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    Index,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Index => "index",
        }
    }
}

/// An action line as far as the server reads it: one of `create` or
/// `index` (anything else is refused).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionLine {
    #[serde(default)]
    create: Option<ActionMeta>,
    #[serde(default)]
    index: Option<ActionMeta>,
}

#[derive(serde::Deserialize)]
struct ActionMeta {
    #[serde(rename = "_index", default)]
    index: Option<String>,
    #[serde(rename = "_id", default)]
    id: Option<String>,
}

/// What a document's source is, decided while parsing (outside the lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// A JSON object the plan does not refuse.
    Acceptable,
    /// A JSON object the plan refuses.
    Refused,
    /// Not a JSON object.
    Invalid,
}

/// One document of a `_bulk` body.
struct Item {
    action: Action,
    index: String,
    id: Option<String>,
    /// The source line as sent.
    text: String,
    verdict: Verdict,
}

/// The documents of a `_bulk` body, judged by `refuse`, or the 400 that
/// refuses the body whole.
fn parse_bulk(
    default_index: Option<&str>,
    body: &[u8],
    refuse: Option<&Refusal>,
) -> Result<Vec<Item>, Answer> {
    let refuse_whole = |error_type: &str, reason: String| Answer::error(400, error_type, &reason);
    if body.is_empty() {
        return Err(refuse_whole(
            "action_request_validation_exception",
            "Validation Failed: 1: no requests added;".into(),
        ));
    }
    if body.last() != Some(&b'\n') {
        return Err(refuse_whole(
            "illegal_argument_exception",
            "The bulk request must be terminated by a newline [\\n]".into(),
        ));
    }
    let mut lines = body
        .split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace));
    let mut items = Vec::new();
    while let Some((number, line)) = lines.next() {
        let number = number + 1;
        let malformed = || {
            refuse_whole(
                "x_content_parse_exception",
                format!(
                    "Malformed action/metadata line [{number}], expected an object with one of [create, index]"
                ),
            )
        };
        let (action, meta) = match serde_json::from_slice::<ActionLine>(line) {
            Ok(ActionLine {
                create: Some(meta),
                index: None,
            }) => (Action::Create, meta),
            Ok(ActionLine {
                create: None,
                index: Some(meta),
            }) => (Action::Index, meta),
            _ => return Err(malformed()),
        };
        let index = match (meta.index, default_index) {
            (Some(index), _) if !index.is_empty() => index,
            (None, Some(index)) => index.to_owned(),
            _ => {
                return Err(refuse_whole(
                    "action_request_validation_exception",
                    format!("Validation Failed: 1: index is missing (line [{number}]);"),
                ));
            }
        };
        let id = match meta.id {
            Some(id) if !id.is_empty() && id.len() <= 512 => Some(id),
            None if action == Action::Index => None,
            _ => {
                return Err(refuse_whole(
                    "action_request_validation_exception",
                    format!(
                        "Validation Failed: 1: an id of 1 to 512 bytes is required (line [{number}]);"
                    ),
                ));
            }
        };
        let Some((_, source)) = lines.next() else {
            return Err(refuse_whole(
                "action_request_validation_exception",
                format!("Validation Failed: 1: the action of line [{number}] has no source line;"),
            ));
        };
        let is_object = source.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let verdict = match refuse {
            // Parsed in full only for a predicate to look at.
            Some(refuse) => match serde_json::from_slice::<Value>(source) {
                Ok(parsed @ Value::Object(_)) if refuse(&parsed) => Verdict::Refused,
                Ok(Value::Object(_)) => Verdict::Acceptable,
                _ => Verdict::Invalid,
            },
            None if is_object
                && serde_json::from_slice::<&serde_json::value::RawValue>(source).is_ok() =>
            {
                Verdict::Acceptable
            }
            None => Verdict::Invalid,
        };
        items.push(Item {
            action,
            index,
            id,
            text: String::from_utf8_lossy(source).into_owned(),
            verdict,
        });
    }
    Ok(items)
}

/// A generator for the `n`-th request of the schedule `seed` starts.
fn schedule_rng(seed: u64, n: u64) -> fastrand::Rng {
    // splitmix64 of the pair, so neighbouring requests draw unrelated values.
    let mut z = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    fastrand::Rng::with_seed(z ^ (z >> 31))
}

/// Answers a `_bulk` request as the plan's schedule says.
fn bulk(shared: &Shared, default_index: Option<&str>, body: &[u8]) -> (Outcome, Option<Duration>) {
    let started = Instant::now();
    // Parsed and judged outside the lock, so that requests on several
    // connections are read at once.
    let refuse = shared.lock().plan.refuse.clone();
    let items = match parse_bulk(default_index, body, refuse.as_ref()) {
        Ok(items) => items,
        Err(answer) => {
            shared.lock().counts.bad_requests += 1;
            return (Outcome::Answer(answer), None);
        }
    };
    let mut guard = shared.lock();
    let state = &mut *guard;
    let mut rng = schedule_rng(state.plan.seed, state.scheduled);
    state.scheduled += 1;
    // The same draws for every request, whatever they decide.
    let fault = state.plan.request_fault(rng.f64());
    let delayed = rng.f64() < state.plan.delayed;
    let delay_ms = rng.u64(state.plan.delay_ms.clone());
    let delay = delayed.then(|| Duration::from_millis(delay_ms));
    let counts = &mut state.counts;
    counts.bulk_requests += 1;
    counts.items_received += items.len() as u64;
    if delayed {
        counts.delayed += 1;
    }
    let outcome = match fault {
        RequestFault::TooManyRequests => {
            counts.answered_429 += 1;
            Outcome::Answer(Answer::error(
                429,
                "es_rejected_execution_exception",
                "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0] (fault server)",
            ))
        }
        RequestFault::Unavailable => {
            counts.answered_503 += 1;
            Outcome::Answer(Answer::error(
                503,
                "unavailable_shards_exception",
                "[shop][0] primary shard is not active Timeout: [1m] (fault server)",
            ))
        }
        RequestFault::ResetBeforeStoring => {
            counts.reset_before_storing += 1;
            Outcome::Reset
        }
        RequestFault::ResetAfterStoring => {
            store(state, &mut rng, items);
            state.counts.reset_after_storing += 1;
            Outcome::Reset
        }
        RequestFault::AnswerLost => {
            store(state, &mut rng, items);
            state.counts.answer_lost += 1;
            Outcome::Answer(Answer {
                status: 502,
                content_type: "text/plain; charset=utf-8",
                body: b"Bad Gateway".to_vec(),
                close: false,
            })
        }
        RequestFault::None => {
            let (answered, errors) = store(state, &mut rng, items);
            state.counts.answered_200 += 1;
            drop(guard);
            let took = started.elapsed().as_millis();
            let mut body = Vec::with_capacity(answered.len() + 64);
            body.extend_from_slice(
                format!(r#"{{"took":{took},"errors":{errors},"items":["#).as_bytes(),
            );
            body.extend_from_slice(&answered);
            body.extend_from_slice(b"]}");
            Outcome::Answer(Answer {
                status: 200,
                content_type: "application/json",
                body,
                close: false,
            })
        }
    };
    (outcome, delay)
}

/// Stores what may be stored of `items`; the items of the answer (JSON,
/// comma-separated) and whether any failed.
fn store(state: &mut State, rng: &mut fastrand::Rng, items: Vec<Item>) -> (Vec<u8>, bool) {
    let mut answer = Vec::with_capacity(items.len() * 200);
    let mut errors = false;
    for (position, item) in items.into_iter().enumerate() {
        if position > 0 {
            answer.push(b',');
        }
        let busy = rng.f64() < state.plan.item_too_many_requests;
        let id = match item.id {
            Some(id) => id,
            None => {
                state.next_generated_id += 1;
                format!("fault-server-{}", state.next_generated_id)
            }
        };
        let mut entry = ItemAnswer {
            out: &mut answer,
            action: item.action,
            index: &item.index,
            id: &id,
        };
        let counts = &mut state.counts;
        if item.verdict != Verdict::Acceptable {
            errors = true;
            if item.verdict == Verdict::Invalid {
                counts.items_invalid += 1;
                entry.failed(
                    400,
                    "document_parsing_exception",
                    "[1:1] failed to parse: the source is not a JSON object",
                );
                continue;
            }
            counts.items_refused += 1;
            entry.failed(
                400,
                "mapper_parsing_exception",
                "failed to parse field [item_id] of type [unsigned_long] (refused by the fault plan)",
            );
            let refused = state.refused.entry(id).or_insert_with(|| StoredDocument {
                index: item.index,
                source: item.text,
                writes: 0,
                arrived: Instant::now(),
            });
            refused.writes += 1;
            continue;
        }
        if busy {
            errors = true;
            counts.items_429 += 1;
            entry.failed(
                429,
                "es_rejected_execution_exception",
                "rejected execution of primary operation (fault server)",
            );
            continue;
        }
        let full = state.documents.len() >= MAX_DOCUMENTS;
        match (item.action, state.documents.get_mut(&id)) {
            (Action::Create, Some(_)) => {
                errors = true;
                counts.items_conflicted += 1;
                entry.failed(
                    409,
                    "version_conflict_engine_exception",
                    &format!(
                        "[{id}]: version conflict, document already exists (current version [1])"
                    ),
                );
            }
            (Action::Index, Some(document)) => {
                document.writes += 1;
                entry.written(document.writes, "updated", 200);
                document.index = item.index;
                document.source = item.text;
                counts.items_overwritten += 1;
            }
            (_, None) if full => {
                errors = true;
                counts.items_invalid += 1;
                entry.failed(
                    400,
                    "illegal_state_exception",
                    &format!("the fault server keeps at most {MAX_DOCUMENTS} documents"),
                );
            }
            (_, None) => {
                entry.written(1, "created", 201);
                counts.items_created += 1;
                state.documents.insert(
                    id,
                    StoredDocument {
                        index: item.index,
                        source: item.text,
                        writes: 1,
                        arrived: Instant::now(),
                    },
                );
            }
        }
    }
    (answer, errors)
}

/// Writes one item of a `_bulk` answer.
struct ItemAnswer<'a> {
    out: &'a mut Vec<u8>,
    action: Action,
    index: &'a str,
    id: &'a str,
}

impl ItemAnswer<'_> {
    /// `{"create":{"_index":..,"_id":..,` (strings escaped).
    fn open(&mut self) {
        self.out.extend_from_slice(b"{\"");
        self.out.extend_from_slice(self.action.name().as_bytes());
        self.out.extend_from_slice(b"\":{\"_index\":");
        push_json_string(self.out, self.index);
        self.out.extend_from_slice(b",\"_id\":");
        push_json_string(self.out, self.id);
        self.out.push(b',');
    }

    fn written(&mut self, version: u64, result: &str, status: u16) {
        self.open();
        self.out.extend_from_slice(
            format!(
                r#""_version":{version},"result":"{result}","_shards":{{"total":1,"successful":1,"failed":0}},"_seq_no":0,"_primary_term":1,"status":{status}}}}}"#
            )
            .as_bytes(),
        );
    }

    fn failed(&mut self, status: u16, error_type: &str, reason: &str) {
        self.open();
        self.out
            .extend_from_slice(format!(r#""status":{status},"error":{{"type":"#).as_bytes());
        push_json_string(self.out, error_type);
        self.out.extend_from_slice(b",\"reason\":");
        push_json_string(self.out, reason);
        self.out.extend_from_slice(b",\"index\":");
        push_json_string(self.out, self.index);
        self.out.extend_from_slice(b"}}}");
    }
}

/// `text` as a JSON string.
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    if text
        .bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(Value::from(text).to_string().as_bytes());
    }
}
