//! One connection: HTTP/1.1 requests read whole (up to Elasticsearch's
//! default `http.max_content_length`, 100 MB), checked for credentials,
//! gunzipped when sent so, answered by the routes, with the headers
//! Elasticsearch's clients check for (`X-Elastic-Product`).

use std::convert::Infallible;
use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::auth;
use super::reply::{EsError, Reply};
use super::routes::{self, Call};
use super::server::Server;

/// The largest request body read, as Elasticsearch's default.
const MAX_BODY_BYTES: usize = 100 * 1024 * 1024;

/// Answers the requests of one connection until the client closes it.
pub(crate) async fn serve_connection<S>(server: Arc<Server>, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| answer(Arc::clone(&server), request));
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(error) = connection.await {
        tracing::debug!("connection ended: {error}");
    }
}

/// One request's answer; every failure is an answer in Elasticsearch's
/// shape, never a dropped connection.
async fn answer(
    server: Arc<Server>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let compatible = request
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .and_then(|accept| {
            accept
                .contains("compatible-with")
                .then(|| accept.to_owned())
        });
    let authorization = request
        .headers()
        .get(AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    if !auth::allows(&server.auth, authorization) {
        let error = EsError {
            status: 401,
            kind: "security_exception",
            reason: "missing or wrong credentials for REST request: give the user and password, API key or token that [serve] configures".into(),
        };
        let mut response = respond(error.reply(), compatible.as_deref());
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"esrecord\", ApiKey"),
        );
        return Ok(response);
    }
    let encoding = request.headers().get(CONTENT_ENCODING).map(|e| {
        String::from_utf8_lossy(e.as_bytes())
            .trim()
            .to_ascii_lowercase()
    });
    let method = request.method().clone();
    let uri = request.uri().clone();
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            let error = EsError {
                status: 413,
                kind: "content_too_long_exception",
                reason: format!(
                    "the request body could not be read whole ({error}); send at most 100 MB a request"
                ),
            };
            return Ok(respond(error.reply(), compatible.as_deref()));
        }
    };
    let reply = match decoded(encoding.as_deref(), body) {
        Ok(body) => {
            let call = Call::new(&method, uri.path(), uri.query(), &body);
            routes::route(&server, call).await
        }
        Err(error) => error.reply(),
    };
    Ok(respond(reply, compatible.as_deref()))
}

/// The body as sent, or gunzipped (`Content-Encoding: gzip`, as the
/// clients send with compression on), up to [`MAX_BODY_BYTES`].
fn decoded(encoding: Option<&str>, body: Bytes) -> Result<Bytes, EsError> {
    match encoding {
        None | Some("" | "identity") => Ok(body),
        Some("gzip" | "x-gzip") => {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(body.as_ref())
                .take(MAX_BODY_BYTES as u64 + 1)
                .read_to_end(&mut plain)
                .map_err(|e| {
                    EsError::parsing(format!("the gzip request body does not decompress: {e}"))
                })?;
            if plain.len() > MAX_BODY_BYTES {
                return Err(EsError {
                    status: 413,
                    kind: "content_too_long_exception",
                    reason:
                        "the request body decompresses to more than 100 MB; send smaller requests"
                            .into(),
                });
            }
            Ok(Bytes::from(plain))
        }
        Some(other) => Err(EsError::illegal(format!(
            "Content-Encoding [{other}] is not supported: send the body as is or gzipped"
        ))),
    }
}

/// The HTTP response of `reply`; JSON in the media type the client asked
/// for (`compatible-with=N` for the official clients).
fn respond(reply: Reply, compatible: Option<&str>) -> Response<Full<Bytes>> {
    let content_type = match (reply.text, compatible) {
        (true, _) => "text/plain; charset=UTF-8".to_owned(),
        (false, Some(accept)) => accept
            .split(',')
            .next()
            .unwrap_or("application/json")
            .trim()
            .to_owned(),
        (false, None) => "application/json".to_owned(),
    };
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/json")),
    );
    headers.insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn gzip_bodies_are_read_and_other_encodings_refused() {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = gzip.write_all(b"{\"size\": 0}");
        let zipped = gzip.finish().unwrap_or_default();
        let plain = decoded(Some("gzip"), Bytes::from(zipped)).map_err(|e| e.reason);
        assert_eq!(plain, Ok(Bytes::from_static(b"{\"size\": 0}")));
        let broken = decoded(Some("gzip"), Bytes::from_static(b"not gzip")).unwrap_err();
        assert_eq!((broken.status, broken.kind), (400, "parsing_exception"));
        let brotli = decoded(Some("br"), Bytes::from_static(b"x")).unwrap_err();
        assert!(brotli.reason.contains("[br]"), "{}", brotli.reason);
        assert!(decoded(None, Bytes::from_static(b"{}")).is_ok());
    }
}
