//! The keys of the objects a document's walk is in, so that a key
//! repeated in one object is rejected, as Elasticsearch rejects it.

/// The keys of the objects being walked, outer objects first, so that a
/// key repeated in one object is rejected, as Elasticsearch rejects it.
#[derive(Debug, Default)]
pub(super) struct OpenKeys {
    text: String,
    ends: Vec<usize>,
}

impl OpenKeys {
    /// Where the keys of an object opened now begin.
    pub(super) fn open(&self) -> usize {
        self.ends.len()
    }

    /// Adds `key` to the object opened at `frame`; false when that object
    /// already has it.
    pub(super) fn insert(&mut self, frame: usize, key: &str) -> bool {
        let mut start = self.start(frame);
        for &end in self.ends.get(frame..).unwrap_or_default() {
            if self.text.get(start..end) == Some(key) {
                return false;
            }
            start = end;
        }
        self.text.push_str(key);
        self.ends.push(self.text.len());
        true
    }

    /// Forgets the keys of the object opened at `frame`.
    pub(super) fn close(&mut self, frame: usize) {
        self.text.truncate(self.start(frame));
        self.ends.truncate(frame);
    }

    fn start(&self, frame: usize) -> usize {
        frame
            .checked_sub(1)
            .and_then(|last| self.ends.get(last))
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::tests::error;
    use super::super::to_document;
    use crate::backend::embedded::test_schema::schema;

    #[test]
    fn a_key_repeated_in_one_object_is_rejected() {
        let schema = schema(false);
        for source in [
            r#"{"path": "/a", "path": "/b"}"#,
            r#"{"latency": {"p99_ms": 1, "p99_ms": 2}}"#,
            r#"{"nope": 1, "nope": 2}"#,
            r#"{"tags": {"platform": "ios", "platform": "web"}}"#,
            r#"{"tags": {"os": {"name": "a", "name": "b"}}}"#,
        ] {
            let error = error(&schema, source);
            assert_eq!(error.error_type, "mapper_parsing_exception", "{source}");
            assert!(
                error.reason.contains("Duplicate field"),
                "{source}: {}",
                error.reason
            );
        }
        // The same key in sibling objects, and a field given both nested
        // and dotted, are not repeats.
        let source = br#"{"client": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "latency": {"p99_ms": 1}, "latency.p99_ms": 2, "tags": [{"k": "a"}, {"k": "b", "j": {"k": "c"}}]}"#;
        let doc = to_document(&schema, "1", source).unwrap();
        let field = |path: &str| schema.fields[path].field;
        assert_eq!(doc.get_all(field("client.ip")).count(), 2);
        assert_eq!(doc.get_all(field("latency.p99_ms")).count(), 2);
    }
}
