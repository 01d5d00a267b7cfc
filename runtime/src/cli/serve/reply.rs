//! What the endpoint answers: JSON with a status, and errors in
//! Elasticsearch's shape (`{"error": {"root_cause": [...], "type",
//! "reason"}, "status"}`), which its clients read and raise.

use serde_json::{Value, json};

use crate::error::Error;

/// One answer: a status and a body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// `text/plain` for `_cat` tables, JSON otherwise.
    pub(crate) text: bool,
}

impl Reply {
    /// `value` as JSON with `status`.
    pub(crate) fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            body: value.to_string().into_bytes(),
            text: false,
        }
    }

    /// Plain text (a `_cat` table).
    pub(crate) fn text(body: String) -> Reply {
        Reply {
            status: 200,
            body: body.into_bytes(),
            text: true,
        }
    }

    /// An empty answer (`HEAD`).
    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: Vec::new(),
            text: false,
        }
    }
}

/// An error as Elasticsearch reports it: an HTTP status, an error type
/// its clients map to exceptions, and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EsError {
    pub(crate) status: u16,
    pub(crate) kind: &'static str,
    pub(crate) reason: String,
}

impl EsError {
    /// A request the endpoint cannot read (400 `parsing_exception`).
    pub(crate) fn parsing(reason: impl Into<String>) -> EsError {
        EsError {
            status: 400,
            kind: "parsing_exception",
            reason: reason.into(),
        }
    }

    /// A request it reads but refuses (400 `illegal_argument_exception`).
    pub(crate) fn illegal(reason: impl Into<String>) -> EsError {
        EsError {
            status: 400,
            kind: "illegal_argument_exception",
            reason: reason.into(),
        }
    }

    /// An index that is not there (404 `index_not_found_exception`).
    pub(crate) fn index_not_found(index: &str) -> EsError {
        EsError {
            status: 404,
            kind: "index_not_found_exception",
            reason: format!("no such index [{index}]"),
        }
    }

    /// A path or method the endpoint does not answer: Elasticsearch's
    /// answer to an unknown URL, naming what esrecord supports.
    pub(crate) fn unsupported_endpoint(method: &str, path: &str) -> EsError {
        EsError {
            status: 400,
            kind: "illegal_argument_exception",
            reason: format!(
                "esrecord's endpoint does not support [{method} {path}]; it answers GET /, _cluster/health, _bulk, _doc, _create, _search, _msearch, _count, _pit, _mapping, _field_caps, _index_template, _cat/indices, _refresh, and DELETE and HEAD of an index"
            ),
        }
    }

    /// The body of the answer.
    pub(crate) fn body(&self) -> Value {
        let cause = json!({"type": self.kind, "reason": self.reason});
        json!({
            "error": {
                "root_cause": [cause],
                "type": self.kind,
                "reason": self.reason,
            },
            "status": self.status,
        })
    }

    pub(crate) fn reply(&self) -> Reply {
        Reply::json(self.status, &self.body())
    }
}

impl From<Error> for EsError {
    fn from(error: Error) -> EsError {
        let reason = error.to_string();
        let (status, kind) = match &error {
            Error::BadRequest(_) => (400, "parsing_exception"),
            Error::InvalidJson { .. } => (400, "document_parsing_exception"),
            Error::Unsupported { .. } => (400, "illegal_argument_exception"),
            Error::InvalidRecord { .. } | Error::TimestampOutOfRange { .. } => {
                (400, "document_parsing_exception")
            }
            Error::InvalidName { .. }
            | Error::InvalidTimeBound { .. }
            | Error::EmptyRange { .. } => (400, "illegal_argument_exception"),
            Error::QueueFull { .. } => (429, "es_rejected_execution_exception"),
            Error::UnknownType { .. } => (404, "index_not_found_exception"),
            Error::Closed => (503, "node_closed_exception"),
            _ => (500, "exception"),
        };
        EsError {
            status,
            kind,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_elasticsearchs_shape() {
        let body = EsError::parsing("unknown key [quer]").body();
        assert_eq!(body["status"], 400);
        assert_eq!(body["error"]["type"], "parsing_exception");
        assert_eq!(
            body["error"]["root_cause"][0]["reason"],
            "unknown key [quer]"
        );
    }

    #[test]
    fn an_unsupported_clause_is_a_400_naming_it() {
        let error = EsError::from(Error::Unsupported {
            what: "search body key `suggest`".into(),
            hint: "the embedded engine supports query, from, size",
        });
        assert_eq!(
            (error.status, error.kind),
            (400, "illegal_argument_exception")
        );
        assert!(error.reason.contains("suggest"), "{}", error.reason);
    }
}
