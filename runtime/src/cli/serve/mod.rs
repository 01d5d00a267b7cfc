//! `records serve`: the embedded store answered over HTTP in
//! Elasticsearch's wire format, for Grafana's Elasticsearch data source,
//! the official clients of other languages, and curl.
//!
//! It answers what the engine supports (`GET /`, `_bulk`, `_search`,
//! `_msearch`, `_count`, `_pit`, `_mapping`, `_field_caps`,
//! `_index_template`, `_cat/indices`, `_refresh`, `DELETE` of an index)
//! and anything else with Elasticsearch's error shape naming what is not
//! supported. Writes go through the store's writer, as the application's
//! own do: read as the record type, validated, batched, and answered once
//! written and searchable. It listens on loopback unless `[serve]`
//! configures another address, which then needs credentials.

mod auth;
mod bulk;
mod dialect;
mod http;
mod indices;
mod reply;
mod routes;
mod search;
mod server;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use self::server::Server;
use super::{Context, Failure, Outcome};
use crate::config::Auth;

/// Serves on `listen` (else `[serve] listen`) until Ctrl-C, then closes
/// the store (writing what is queued).
pub(crate) async fn run(cx: &Context, listen: Option<SocketAddr>) -> Result<Outcome, Failure> {
    let settings = &cx.config.serve;
    let listen = listen.unwrap_or(settings.listen);
    let auth = settings
        .credentials
        .resolve("[serve]")
        .map_err(Failure::config)?;
    if !listen.ip().is_loopback() && matches!(auth, Auth::None) {
        return Err(Failure::usage(format!(
            "refusing to serve on {listen} without credentials: anyone who can reach it could read and write every record; add username with password_env or password_file (or api_key_env/api_key_file) under [serve] in esrecord.toml, or listen on 127.0.0.1"
        )));
    }
    let tls = match &settings.tls {
        Some(files) => Some(tls::acceptor(files).map_err(Failure::config)?),
        None => None,
    };
    let backend_name = cx.backend.as_deref().unwrap_or("default");
    let server = Arc::new(Server::open(cx, backend_name, auth)?);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::failed(format!("cannot listen on {listen}: {e}")))?;
    let address = listener.local_addr().unwrap_or(listen);
    let scheme = if tls.is_some() { "https" } else { "http" };
    // The first line a script waits for: where to send requests.
    println!("listening on {scheme}://{address}");
    if !cx.quiet {
        eprintln!(
            "serving backend {backend_name:?} ({} record types); Ctrl-C stops",
            server.type_count()
        );
    }
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors, say: let connections close.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                let server = Arc::clone(&server);
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                http::serve_connection(server, stream).await;
                            }
                        }
                        None => http::serve_connection(server, stream).await,
                    }
                });
            }
        }
    }
    let stats = server.close().await?;
    if !cx.quiet {
        eprintln!(
            "stopped; {} records written, {} refused, {} not written",
            stats.sent, stats.failed, stats.unsent
        );
    }
    Ok(Outcome::Success)
}
