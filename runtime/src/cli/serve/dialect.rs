//! What Elasticsearch's clients send that means what the engine already
//! reads, rewritten before the engine sees it, and answers put back into
//! the form asked for. Grafana's data source is the reason:
//!
//! - `query_string` with `*` (an empty Lucene query) is `match_all`, and
//!   `field:value` is a `match`; any other Lucene syntax is refused by name;
//! - a `date_histogram`'s `format: epoch_millis` is dropped, and its
//!   buckets' `key_as_string` becomes the key's milliseconds;
//! - `percentiles`' `percents` given as strings (`["95"]`) are numbers;
//! - `docvalue_fields` and `fields` (a logs or raw-data panel's) are read
//!   from each hit's `_source` into its `fields`; an empty `script_fields`
//!   and `highlight` are dropped (hits come without highlights).

use serde_json::{Map, Value, json};

use super::reply::EsError;

/// The date histograms whose keys are asked for as epoch milliseconds:
/// each as the names of the aggregations down to it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Rewritten {
    epoch_millis: Vec<Vec<String>>,
    /// The fields each hit's `fields` holds, from its `_source`.
    hit_fields: Vec<String>,
}

/// Rewrites `body` (a search body) into what the engine reads.
pub(crate) fn rewrite(body: &mut Value) -> Result<Rewritten, EsError> {
    if let Some(query) = body.get_mut("query") {
        rewrite_query(query)?;
    }
    let mut rewritten = Rewritten::default();
    if let Some(object) = body.as_object_mut() {
        rewritten.hit_fields = take_hit_fields(object)?;
    }
    for key in ["aggs", "aggregations"] {
        if let Some(Value::Object(aggs)) = body.get_mut(key) {
            rewrite_aggs(aggs, &mut Vec::new(), &mut rewritten)?;
        }
    }
    Ok(rewritten)
}

fn rewrite_query(query: &mut Value) -> Result<(), EsError> {
    match query {
        Value::Object(clause) => {
            if let Some(string_query) = clause.get("query_string") {
                *query = lucene(string_query)?;
                return Ok(());
            }
            for value in clause.values_mut() {
                rewrite_query(value)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_query(item)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The query DSL of the Lucene queries Grafana's query box sends most.
fn lucene(query_string: &Value) -> Result<Value, EsError> {
    let text = query_string["query"].as_str().unwrap_or("").trim();
    if text.is_empty() || text == "*" {
        return Ok(json!({"match_all": {}}));
    }
    let simple = text.split_once(':').filter(|(field, value)| {
        let plain = |s: &str| {
            !s.is_empty() && !s.contains([' ', '(', ')', '*', '?', '~', '[', ']', '{', '}', ':'])
        };
        plain(field)
            && (plain(value) || (value.len() > 1 && value.starts_with('"') && value.ends_with('"')))
    });
    match simple {
        Some((field, value)) => Ok(json!({"match": {field: value.trim_matches('"')}})),
        None => Err(EsError::illegal(format!(
            "query_string [{text}] is not supported: the endpoint reads `*` and `field:value`; write the filter in query DSL (term, range, bool)"
        ))),
    }
}

fn rewrite_aggs(
    aggs: &mut Map<String, Value>,
    path: &mut Vec<String>,
    rewritten: &mut Rewritten,
) -> Result<(), EsError> {
    for (name, agg) in aggs.iter_mut() {
        path.push(name.clone());
        if let Some(Value::Object(histogram)) = agg.get_mut("date_histogram")
            && histogram.get("format").and_then(Value::as_str) == Some("epoch_millis")
        {
            histogram.remove("format");
            rewritten.epoch_millis.push(path.clone());
        }
        if let Some(Value::Array(percents)) = agg.pointer_mut("/percentiles/percents") {
            for percent in percents.iter_mut() {
                if let Some(number) = percent.as_str().and_then(|s| s.parse::<f64>().ok()) {
                    *percent = json!(number);
                }
            }
        }
        for key in ["aggs", "aggregations"] {
            if let Some(Value::Object(sub)) = agg.get_mut(key) {
                rewrite_aggs(sub, path, rewritten)?;
            }
        }
        path.pop();
    }
    Ok(())
}

/// The fields asked for as `docvalue_fields` or `fields` (names, or
/// objects with a `field`), taken out of the body with what goes with
/// them; a script field is refused by name.
fn take_hit_fields(body: &mut Map<String, Value>) -> Result<Vec<String>, EsError> {
    if let Some(scripts) = body.remove("script_fields")
        && scripts.as_object().is_some_and(|s| !s.is_empty())
    {
        return Err(EsError::illegal(
            "script_fields are not supported: the engine runs no scripts",
        ));
    }
    body.remove("highlight");
    let mut fields = Vec::new();
    for key in ["docvalue_fields", "fields"] {
        let Some(asked) = body.remove(key) else {
            continue;
        };
        let Value::Array(asked) = asked else {
            return Err(EsError::parsing(format!(
                "[{key}] must be a list of fields"
            )));
        };
        for item in asked {
            let name = match &item {
                Value::String(name) => name.as_str(),
                Value::Object(spec) => spec.get("field").and_then(Value::as_str).unwrap_or(""),
                _ => "",
            };
            if name.is_empty() {
                return Err(EsError::parsing(format!(
                    "[{key}] holds {item}, not a field name"
                )));
            }
            if !fields.iter().any(|f| f == name) {
                fields.push(name.to_owned());
            }
        }
    }
    Ok(fields)
}

/// Puts the answer into the form the rewritten body asked for.
pub(crate) fn restore(answer: &mut Value, rewritten: &Rewritten) {
    for path in &rewritten.epoch_millis {
        epoch_millis_keys(&mut answer["aggregations"], path);
    }
    if rewritten.hit_fields.is_empty() {
        return;
    }
    if let Some(Value::Array(hits)) = answer.pointer_mut("/hits/hits") {
        for hit in hits {
            let mut fields = Map::new();
            for name in &rewritten.hit_fields {
                let mut value = &hit["_source"];
                for part in name.split('.') {
                    value = &value[part];
                }
                match value {
                    Value::Null => {}
                    Value::Array(values) => {
                        fields.insert(name.clone(), Value::Array(values.clone()));
                    }
                    one => {
                        fields.insert(name.clone(), json!([one]));
                    }
                }
            }
            hit["fields"] = Value::Object(fields);
        }
    }
}

/// Sets `key_as_string` to the key's milliseconds in every bucket of the
/// aggregation at `path` below `aggregations` (one result object, or a
/// bucket holding sub-aggregations).
fn epoch_millis_keys(aggregations: &mut Value, path: &[String]) {
    let Some((name, rest)) = path.split_first() else {
        return;
    };
    let Some(result) = aggregations.get_mut(name) else {
        return;
    };
    for bucket in buckets(result) {
        if rest.is_empty() {
            if let Some(key) = bucket.get("key").and_then(Value::as_i64) {
                bucket["key_as_string"] = json!(key.to_string());
            }
        } else {
            epoch_millis_keys(bucket, rest);
        }
    }
}

/// The buckets of a bucket aggregation's result, as a list or keyed.
fn buckets(result: &mut Value) -> Vec<&mut Value> {
    match result.get_mut("buckets") {
        Some(Value::Array(list)) => list.iter_mut().collect(),
        Some(Value::Object(keyed)) => keyed.values_mut().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafanas_query_and_histogram_read_as_the_engine_reads_them() {
        let mut body = json!({
            "query": {"bool": {"filter": [
                {"range": {"timestamp": {"gte": 1, "lte": 2, "format": "epoch_millis"}}},
                {"query_string": {"analyze_wildcard": true, "query": "*"}},
            ]}},
            "aggs": {"2": {
                "date_histogram": {"field": "timestamp", "fixed_interval": "1h", "format": "epoch_millis"},
                "aggs": {"3": {"percentiles": {"field": "latency.p99_ms", "percents": ["95", "99"]}}},
            }},
        });
        let rewritten = rewrite(&mut body).unwrap_or_default();
        assert_eq!(body["query"]["bool"]["filter"][1], json!({"match_all": {}}));
        assert!(body["aggs"]["2"]["date_histogram"].get("format").is_none());
        assert_eq!(
            body["aggs"]["2"]["aggs"]["3"]["percentiles"]["percents"],
            json!([95.0, 99.0])
        );

        let mut answer = json!({"aggregations": {"2": {"buckets": [
            {"key": 3_600_000, "key_as_string": "1970-01-01T01:00:00.000Z", "doc_count": 1},
        ]}}});
        restore(&mut answer, &rewritten);
        assert_eq!(
            answer["aggregations"]["2"]["buckets"][0]["key_as_string"],
            "3600000"
        );
    }

    #[test]
    fn a_logs_panels_fields_come_from_each_hits_source() {
        let mut body = json!({
            "size": 500,
            "script_fields": {},
            "docvalue_fields": ["timestamp"],
            "fields": [{"field": "timestamp", "format": "strict_date_optional_time_nanos"}, "latency.p99_ms"],
            "highlight": {"fields": {"*": {}}},
        });
        let rewritten = rewrite(&mut body).unwrap_or_default();
        assert_eq!(body, json!({"size": 500}));
        let mut answer = json!({"hits": {"hits": [
            {"_source": {"timestamp": "2024-03-01T00:00:00Z", "latency": {"p99_ms": 9.5}}},
        ]}});
        restore(&mut answer, &rewritten);
        assert_eq!(
            answer["hits"]["hits"][0]["fields"],
            json!({"timestamp": ["2024-03-01T00:00:00Z"], "latency.p99_ms": [9.5]})
        );
        let mut scripted = json!({"script_fields": {"x": {"script": "1"}}});
        assert!(rewrite(&mut scripted).is_err());
    }

    #[test]
    fn lucene_field_value_is_a_match_and_more_is_refused_by_name() {
        let mut body = json!({"query": {"query_string": {"query": "path:\"/cart\""}}});
        assert!(rewrite(&mut body).is_ok());
        assert_eq!(body["query"], json!({"match": {"path": "/cart"}}));
        let mut body = json!({"query": {"query_string": {"query": "path:/cart OR status:500"}}});
        let error = rewrite(&mut body).unwrap_err();
        assert_eq!(error.status, 400);
        assert!(
            error.reason.contains("path:/cart OR status:500"),
            "{}",
            error.reason
        );
    }
}
