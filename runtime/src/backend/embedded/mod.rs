//! The embedded backend: a miniature Elasticsearch on tantivy. A data
//! directory holds the templates and one tantivy index per partition.

mod aggs;
mod document;
mod query;
mod schema;
mod values;
