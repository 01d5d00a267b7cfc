//! `RecordType`: the static description of a record type, and the names of
//! its template, pattern and indexes.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};

use crate::data_stream::{self, DataStream, DataStreamSpec};
use crate::error::{Error, Result};
use crate::mapping::DynamicTemplates;
use crate::naming::{self, TimeBound, TimeRange, ascii_to_string};
use crate::shape::ShapeField;
use crate::shared::{Dynamic, Retention, TimeSeriesMetric, Timedepth};
use crate::template::schema_hash;

/// How many index patterns a range search may name before it falls back to
/// the type's full pattern.
pub const DEFAULT_PATTERN_LIMIT: usize = 32;

/// What `#[derive(Record)]` knows about a record type. Generated code builds
/// one as a `static`; everything else reads it through [`RecordType`].
#[doc(hidden)]
#[derive(Debug)]
pub struct RecordSpec {
    /// `module::path::TypeName` of the Rust type.
    pub rust_path: &'static str,
    /// The type name: the struct name lowercased, or `name = "..."`.
    pub name: &'static str,
    /// The app label: the defining crate's name, or `app_label = "..."`.
    pub app_label: &'static str,
    /// `timedepth = "..."`, if given.
    pub timedepth: Option<Timedepth>,
    /// `template_name = "..."`, if given.
    pub template_name: Option<&'static str>,
    /// `template = "..."` (the index pattern), if given.
    pub template: Option<&'static str>,
    /// `settings(...)`, in declaration order.
    pub settings: &'static [(&'static str, SettingValue)],
    /// `dynamic = "..."`; strict by default.
    pub dynamic: Dynamic,
    /// The named backend the type is stored in.
    pub backend: &'static str,
    /// `retention = "..."`, if given.
    pub retention: Option<Retention>,
    /// The stored names of the `unique_together` fields, sorted.
    pub unique_together: &'static [&'static str],
    /// `simple`: one index, not time-partitioned.
    pub simple: bool,
    /// `data_stream`: a data stream where the backend allows it.
    pub data_stream: Option<DataStreamSpec>,
    /// The stored names of the `#[record(dimension)]` fields.
    pub dimensions: &'static [&'static str],
    /// The stored names and kinds of the `time_series_metric` fields.
    pub time_series_metrics: &'static [(&'static str, TimeSeriesMetric)],
    /// The stored name of the timestamp field.
    pub timestamp_field: Option<&'static str>,
    /// Builds the mapping's `properties` (and its dynamic templates).
    pub properties: fn(&mut DynamicTemplates) -> Map<String, Value>,
    /// The layout of the stored fields, from their Rust types.
    pub shape: fn() -> Vec<ShapeField>,
}

/// A value in `#[record(settings(...))]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SettingValue {
    /// A string, e.g. `refresh_interval = "5s"`.
    Str(&'static str),
    /// An integer, e.g. `number_of_shards = 2`.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl SettingValue {
    /// The value as JSON.
    pub fn to_json(self) -> Value {
        match self {
            SettingValue::Str(s) => json!(s),
            SettingValue::Int(n) => json!(n),
            SettingValue::Float(x) => json!(x),
            SettingValue::Bool(b) => json!(b),
        }
    }
}

/// The JSON of [`Dynamic`] (the type and its names are shared with the
/// derive, in `shared/dynamic.rs`).
impl Dynamic {
    /// The value of `mappings.dynamic`.
    pub fn to_json(self) -> Value {
        match self {
            Dynamic::Strict => json!("strict"),
            Dynamic::True => json!(true),
            Dynamic::False => json!(false),
            Dynamic::Runtime => json!("runtime"),
        }
    }
}

/// The length of a [`Retention`] as a [`Duration`] (the type and its
/// parsing are shared with the derive, in `shared/retention.rs`).
impl Retention {
    /// The retention as a duration.
    ///
    /// ```
    /// use esrecord::{Retention, RetentionUnit};
    /// let retention = Retention::parse("90d").unwrap();
    /// assert_eq!(retention, Retention::new(90, RetentionUnit::Days));
    /// assert_eq!(retention.duration().as_secs(), 90 * 86_400);
    /// assert_eq!(retention.to_string(), "90d");
    /// ```
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.seconds())
    }
}

/// A record type: its names, partitioning and index template.
///
/// Every `#[derive(Record)]` type has one, from `R::record_type()`; the
/// registry lists them all. A store adjusts a copy to its configuration with
/// [`with_prefix`](Self::with_prefix) and friends.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use esrecord::Record;
///
/// #[derive(Record, serde::Serialize, serde::Deserialize)]
/// #[record(app_label = "shop")]
/// struct PageView {
///     timestamp: chrono::DateTime<Utc>,
///     path: String,
/// }
///
/// let t = PageView::record_type();
/// let ts = Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap();
/// assert_eq!(t.template_name(), "shop_pageview");
/// assert_eq!(t.pattern(), "shop_pageview_*");
/// assert_eq!(t.index_for(&ts), "shop_pageview_2024.03.05");
/// assert_eq!(t.with_prefix("prod-").index_for(&ts), "prod-shop_pageview_2024.03.05");
/// ```
#[derive(Debug, Clone)]
pub struct RecordType {
    spec: &'static RecordSpec,
    prefix: Cow<'static, str>,
    /// A template name given by configuration, in place of the type's own.
    template_override: Option<Cow<'static, str>>,
    timedepth: Option<Timedepth>,
    default_timedepth: Timedepth,
    pattern_limit: usize,
    /// The data stream its backend writes it to, in place of partitions.
    data_stream: Option<Arc<DataStream>>,
}

impl RecordType {
    /// The record type described by `spec`, with no prefix.
    #[doc(hidden)]
    pub const fn new(spec: &'static RecordSpec) -> Self {
        RecordType {
            spec,
            prefix: Cow::Borrowed(""),
            template_override: None,
            timedepth: spec.timedepth,
            default_timedepth: Timedepth::Day,
            pattern_limit: DEFAULT_PATTERN_LIMIT,
            data_stream: None,
        }
    }

    /// This type with every template, pattern and index name prefixed
    /// (a backend's `index_prefix`). Call [`validate`](Self::validate) to
    /// check the resulting names.
    pub fn with_prefix(&self, prefix: impl Into<Cow<'static, str>>) -> RecordType {
        RecordType {
            prefix: prefix.into(),
            ..self.clone()
        }
    }

    /// This type under another template name (configuration's
    /// `[builtin_templates]` for the built-in types): the pattern and index
    /// names follow it, the prefix still goes before it.
    ///
    /// ```
    /// # use esrecord::Record;
    /// # #[derive(Record, serde::Serialize, serde::Deserialize)]
    /// # #[record(app_label = "shop")]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc> }
    /// let t = PageView::record_type().with_template_name("web_views").with_prefix("dev-");
    /// assert_eq!(t.template_name(), "dev-web_views");
    /// assert_eq!(t.pattern(), "dev-web_views_*");
    /// ```
    pub fn with_template_name(&self, name: impl Into<Cow<'static, str>>) -> RecordType {
        RecordType {
            template_override: Some(name.into()),
            ..self.clone()
        }
    }

    /// This type written to `stream` (its backend's data stream for it, from
    /// [`DataStream::for_type`]) in place of time partitions: index names,
    /// patterns and the template follow the stream.
    pub fn with_data_stream(&self, stream: DataStream) -> RecordType {
        RecordType {
            data_stream: Some(Arc::new(stream)),
            ..self.clone()
        }
    }

    /// The data stream the type is written to, when its backend stores it as one.
    pub fn data_stream(&self) -> Option<&DataStream> {
        self.data_stream.as_deref()
    }

    /// `#[record(data_stream(...))]`, when the type declares it.
    pub fn data_stream_spec(&self) -> Option<DataStreamSpec> {
        self.spec.data_stream
    }

    /// The layout of the stored fields, from their Rust types: what an
    /// Arrow schema is made from (see [`crate::shape`]).
    ///
    /// ```
    /// # #[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: Option<String> }
    /// use esrecord::Record;
    /// use esrecord::shape::Shape;
    /// let shape = PageView::record_type().shape();
    /// assert_eq!(shape[1].name, "path");
    /// assert_eq!(shape[1].shape, Shape::Optional(Box::new(Shape::Keyword)));
    /// ```
    pub fn shape(&self) -> Vec<ShapeField> {
        (self.spec.shape)()
    }

    /// The function that builds the mapping's properties.
    pub(crate) fn properties_fn(&self) -> fn(&mut DynamicTemplates) -> Map<String, Value> {
        self.spec.properties
    }

    /// The stored names of the `#[record(dimension)]` fields.
    pub fn dimensions(&self) -> &'static [&'static str] {
        self.spec.dimensions
    }

    /// The stored names and kinds of the `time_series_metric` fields.
    pub fn time_series_metrics(&self) -> &'static [(&'static str, TimeSeriesMetric)] {
        self.spec.time_series_metrics
    }

    /// This type partitioned at `depth`, whatever its attribute says.
    pub fn with_timedepth(&self, depth: Timedepth) -> RecordType {
        RecordType {
            timedepth: Some(depth),
            ..self.clone()
        }
    }

    /// This type with `depth` as the timedepth used when the type's attribute
    /// gives none (a store's configured default).
    pub fn with_default_timedepth(&self, depth: Timedepth) -> RecordType {
        RecordType {
            default_timedepth: depth,
            ..self.clone()
        }
    }

    /// This type with range searches naming at most `limit` patterns before
    /// falling back to the full pattern.
    pub fn with_pattern_limit(&self, limit: usize) -> RecordType {
        RecordType {
            pattern_limit: limit.max(1),
            ..self.clone()
        }
    }

    /// The Rust path of the type, e.g. `shop::metrics::PageView`.
    pub fn rust_path(&self) -> &'static str {
        self.spec.rust_path
    }

    /// Whether `self` and `other` describe the same Rust type, however a
    /// store adjusted either (prefix, timedepth, pattern limit).
    pub(crate) fn is_same_type(&self, other: &RecordType) -> bool {
        std::ptr::eq(self.spec, other.spec)
    }

    /// The type name, e.g. `pageview`.
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// The app label, e.g. `shop`.
    pub fn app_label(&self) -> &'static str {
        self.spec.app_label
    }

    /// The index prefix in force (empty unless set with [`with_prefix`](Self::with_prefix)).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The named backend the type is stored in (`default` unless set).
    pub fn backend(&self) -> &'static str {
        self.spec.backend
    }

    /// How long partitions are kept, if the type says.
    pub fn retention(&self) -> Option<Retention> {
        self.spec.retention
    }

    /// The stored names of the fields that make the document id, sorted;
    /// empty when ids are random.
    pub fn unique_together(&self) -> &'static [&'static str] {
        self.spec.unique_together
    }

    /// Whether the type has one index rather than time partitions.
    pub fn is_simple(&self) -> bool {
        self.spec.simple
    }

    /// The stored name of the timestamp field (`None` only for simple types without one).
    pub fn timestamp_field(&self) -> Option<&'static str> {
        self.spec.timestamp_field
    }

    /// The `dynamic` setting of the mapping.
    pub fn dynamic(&self) -> Dynamic {
        self.spec.dynamic
    }

    /// The index settings from the attribute, in declaration order.
    pub fn settings(&self) -> &'static [(&'static str, SettingValue)] {
        self.spec.settings
    }

    /// The partition size: the type's attribute, else the store's default,
    /// else day.
    pub fn timedepth(&self) -> Timedepth {
        self.timedepth.unwrap_or(self.default_timedepth)
    }

    /// The index template's name: `{prefix}{app}_{type}` unless overridden.
    pub fn template_name(&self) -> String {
        let mut name = String::with_capacity(self.prefix.len() + 32);
        self.push_template_name(&mut name);
        name
    }

    fn push_template_name(&self, out: &mut String) {
        out.push_str(&self.prefix);
        match (&self.template_override, self.spec.template_name) {
            (Some(name), _) => out.push_str(name),
            (None, Some(template_name)) => out.push_str(template_name),
            (None, None) => {
                out.push_str(self.spec.app_label);
                out.push('_');
                out.push_str(self.spec.name);
            }
        }
    }

    /// The index pattern of the template: `{template name}_*` unless
    /// overridden; a simple type's one index name.
    pub fn pattern(&self) -> String {
        if let Some(stream) = &self.data_stream {
            return stream.name().to_owned();
        }
        match self
            .spec
            .template
            .filter(|_| self.template_override.is_none())
        {
            Some(pattern) => format!("{}{pattern}", self.prefix),
            None if self.spec.simple => self.template_name(),
            None => format!("{}_*", self.template_name()),
        }
    }

    /// What every partition's index name starts with: `{template name}_`.
    fn partition_base(&self) -> String {
        let mut base = self.template_name();
        base.push('_');
        base
    }

    /// The index a record with timestamp `ts` goes to (converted to UTC
    /// first); for a simple type, its one index.
    pub fn index_for<Tz: TimeZone>(&self, ts: &DateTime<Tz>) -> String {
        let mut out = Vec::with_capacity(self.prefix.len() + 48);
        self.write_index_for(&ts.with_timezone(&Utc), &mut out);
        ascii_to_string(out)
    }

    /// Appends the index name for `ts` to `out` (the bulk encoder's form of
    /// [`index_for`](Self::index_for)).
    pub fn write_index_for(&self, ts: &DateTime<Utc>, out: &mut Vec<u8>) {
        if let Some(stream) = &self.data_stream {
            out.extend_from_slice(stream.name().as_bytes());
            return;
        }
        out.extend_from_slice(self.prefix.as_bytes());
        match (&self.template_override, self.spec.template_name) {
            (Some(name), _) => out.extend_from_slice(name.as_bytes()),
            (None, Some(template_name)) => out.extend_from_slice(template_name.as_bytes()),
            (None, None) => {
                out.extend_from_slice(self.spec.app_label.as_bytes());
                out.push(b'_');
                out.extend_from_slice(self.spec.name.as_bytes());
            }
        }
        if !self.spec.simple {
            out.push(b'_');
            self.timedepth().write_parts(ts, out);
        }
    }

    /// The start of the partition called `index`, when it is one of this
    /// type's partitions (exactly as [`index_for`](Self::index_for) names
    /// them); `None` for any other name, and for a simple type.
    ///
    /// ```
    /// # use esrecord::Record;
    /// # #[derive(Record, serde::Serialize, serde::Deserialize)]
    /// # #[record(app_label = "shop", timedepth = "day")]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc> }
    /// let t = PageView::record_type();
    /// let start = t.partition_start("shop_pageview_2024.03.05").unwrap();
    /// assert_eq!(start.to_rfc3339(), "2024-03-05T00:00:00+00:00");
    /// assert_eq!(t.partition_start("shop_pageview_2024.03"), None);
    /// assert_eq!(t.partition_start("shop_pageview_2024.03.05-restored"), None);
    /// ```
    pub fn partition_start(&self, index: &str) -> Option<DateTime<Utc>> {
        if self.spec.simple || self.data_stream.is_some() {
            return None;
        }
        let parts = index.strip_prefix(&self.partition_base())?;
        let mut numbers = parts.split('.').map(|part| part.parse::<u32>().ok());
        let year = i32::try_from(numbers.next()??).ok()?;
        let (month, day, hour) = (numbers.next(), numbers.next(), numbers.next());
        if numbers.next().is_some() {
            return None;
        }
        let bound = TimeBound::Parts {
            year,
            month: month.flatten(),
            day: day.flatten(),
            hour: hour.flatten(),
        };
        let start = bound.resolve().ok()?;
        (self.index_for(&start) == index).then_some(start)
    }

    /// The index patterns a search over `from <= timestamp < until` names:
    /// the fewest patterns that cover every partition the range touches
    /// (whole years, months and days as wildcards), or the type's full
    /// pattern when that list would exceed the pattern limit. A simple type
    /// has one index. `from >= until` is an error.
    ///
    /// ```
    /// # use esrecord::Record;
    /// # #[derive(Record, serde::Serialize, serde::Deserialize)]
    /// # #[record(app_label = "shop")]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc> }
    /// let patterns = PageView::record_type().patterns_for_range((2024, 3, 30), (2024, 4, 2)).unwrap();
    /// assert_eq!(patterns, ["shop_pageview_2024.03.30", "shop_pageview_2024.03.31", "shop_pageview_2024.04.01"]);
    /// ```
    pub fn patterns_for_range(
        &self,
        from: impl Into<TimeBound>,
        until: impl Into<TimeBound>,
    ) -> Result<Vec<String>> {
        let range = TimeRange::new(from, until)?;
        Ok(self.patterns_for(&range))
    }

    /// [`patterns_for_range`](Self::patterns_for_range) for a resolved range.
    pub fn patterns_for(&self, range: &TimeRange) -> Vec<String> {
        if self.spec.simple || self.data_stream.is_some() {
            // A data stream is searched by its name, the range a filter.
            return vec![self.pattern()];
        }
        naming::patterns_covering(
            &self.partition_base(),
            self.timedepth(),
            range,
            self.pattern_limit,
            &self.pattern(),
        )
    }

    /// The composable index template body for `PUT _index_template/{name}`:
    /// `index_patterns`, `template.settings`, `template.mappings` and a
    /// `_meta` naming the Rust type and the hash of the schema. A
    /// data-stream type's template also has `data_stream: {}`, a priority
    /// above 200, its ILM policy and, for a time series, the TSDS settings
    /// and dimension and metric mappings ([`data_stream`](crate::data_stream)).
    pub fn template_body(&self) -> Value {
        let mut templates = DynamicTemplates::default();
        let mut properties = (self.spec.properties)(&mut templates);
        let mut settings: Map<String, Value> = self
            .spec
            .settings
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.to_json()))
            .collect();
        if let Some(stream) = &self.data_stream {
            // Checked by `validate`, which every setup runs first.
            let _ = data_stream::shape_template(
                self,
                stream,
                &mut settings,
                &mut properties,
                &mut templates,
            );
        }
        let mut mappings = Map::new();
        mappings.insert("dynamic".into(), self.spec.dynamic.to_json());
        if !templates.is_empty() {
            mappings.insert("dynamic_templates".into(), templates.to_json());
        }
        mappings.insert("properties".into(), Value::Object(properties));
        let mut body = json!({
            "index_patterns": [self.pattern()],
            "template": { "settings": settings, "mappings": mappings },
        });
        if self.data_stream.is_some() {
            body["data_stream"] = json!({});
            body["priority"] = json!(data_stream::TEMPLATE_PRIORITY);
        }
        let hash = schema_hash(&body);
        body["_meta"] = json!({
            "managed_by": "esrecord",
            "rust_type": self.spec.rust_path,
            "schema_hash": hash,
        });
        body
    }

    /// Checks the names this type produces at run time (with its prefix):
    /// the index-name rules, a pattern that matches the type's own index
    /// names, and room for the time parts within 255 bytes (a
    /// time-partitioned type's template name is at most 241 bytes).
    pub fn validate(&self) -> Result<()> {
        self.check_mapping_limits()?;
        naming::validate_prefix(&self.prefix)?;
        let template_name = self.template_name();
        if let Some(stream) = &self.data_stream {
            naming::validate_index_name(&template_name)?;
            return data_stream::validate(self, stream);
        }
        naming::validate_template_name(&template_name, !self.spec.simple)?;
        let pattern = self.pattern();
        naming::validate_pattern(&pattern)?;
        let sample = self.index_for(
            &Utc.with_ymd_and_hms(2024, 12, 31, 23, 0, 0)
                .single()
                .unwrap_or_default(),
        );
        naming::validate_index_name(&sample)?;
        if !naming::glob_matches(&pattern, &sample) {
            return Err(Error::invalid_name(
                "index pattern",
                &pattern,
                format!(
                    "it does not match the type's own index names, such as {sample:?}; make `template` match `{template_name}_*`"
                ),
            ));
        }
        Ok(())
    }
}

impl RecordType {
    /// Checks the type's mapping against Elasticsearch's mapping limits
    /// (`index.mapping.depth.limit`, 20, and
    /// `index.mapping.total_fields.limit`, 1,000): a mapping beyond them
    /// cannot be set up, so the type's records could never be stored.
    fn check_mapping_limits(&self) -> Result<()> {
        let mut templates = DynamicTemplates::default();
        let properties = (self.spec.properties)(&mut templates);
        let limits = MappingLimits::of(&properties);
        if limits.depth > MappingLimits::DEPTH {
            return Err(Error::Config(format!(
                "{}: the mapping nests objects {} levels deep (the root is one), beyond Elasticsearch's mapping depth limit of {}; nest fewer composites, or merge one into its parent with #[serde(flatten)]",
                self.spec.rust_path,
                limits.depth,
                MappingLimits::DEPTH
            )));
        }
        if limits.fields > MappingLimits::FIELDS {
            return Err(Error::Config(format!(
                "{}: the mapping has {} fields, beyond Elasticsearch's limit of {} fields an index; store fewer fields, or values that need not be aggregated in a map of strings (one field, whatever its keys)",
                self.spec.rust_path,
                limits.fields,
                MappingLimits::FIELDS
            )));
        }
        Ok(())
    }
}

/// How deep a mapping's objects nest and how many fields it has, as
/// Elasticsearch counts them: the root is depth 1 and each object (a
/// composite, a map of numbers) one more; every property, object or leaf,
/// and every multi-field is a field. The keys of maps of numbers are fields
/// too, made as records come: the type's mapping leaves room for them only
/// when it is below the limit, and [`MAX_NUMERIC_MAP_KEYS`] bounds one map.
///
/// [`MAX_NUMERIC_MAP_KEYS`]: crate::mapping::MAX_NUMERIC_MAP_KEYS
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MappingLimits {
    pub(crate) depth: usize,
    pub(crate) fields: usize,
}

impl MappingLimits {
    /// Elasticsearch's default `index.mapping.depth.limit`.
    pub(crate) const DEPTH: usize = 20;
    /// Elasticsearch's default `index.mapping.total_fields.limit`.
    pub(crate) const FIELDS: usize = 1_000;

    pub(crate) fn of(properties: &Map<String, Value>) -> Self {
        let mut limits = MappingLimits {
            depth: 1,
            fields: 0,
        };
        limits.walk(properties, 1);
        limits
    }

    fn walk(&mut self, properties: &Map<String, Value>, depth: usize) {
        for mapping in properties.values() {
            self.fields += 1;
            if let Some(Value::Object(fields)) = mapping.get("fields") {
                self.fields += fields.len();
            }
            let is_object = mapping.get("properties").is_some()
                || mapping.get("type").and_then(Value::as_str) == Some("object");
            if is_object {
                self.depth = self.depth.max(depth + 1);
                if let Some(Value::Object(inner)) = mapping.get("properties") {
                    self.walk(inner, depth + 1);
                }
            }
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.template_name(), self.spec.rust_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Objects nested `levels` deep, one leaf at the bottom.
    fn nested(levels: usize) -> Map<String, Value> {
        let mut properties = Map::new();
        properties.insert("leaf".into(), json!({"type": "long"}));
        for _ in 0..levels {
            let mut outer = Map::new();
            outer.insert("inner".into(), json!({ "properties": properties }));
            properties = outer;
        }
        properties
    }

    #[test]
    fn mapping_depth_and_fields_are_counted_as_elasticsearch_does() {
        // All at the root: depth 1.
        let flat = json!({"a": {"type": "long"}, "b": {"type": "keyword", "fields": {"raw": {"type": "keyword"}}}});
        let flat = flat.as_object().unwrap();
        assert_eq!(
            MappingLimits::of(flat),
            MappingLimits {
                depth: 1,
                fields: 3
            }
        );
        // `inner.inner.leaf`: two objects below the root.
        assert_eq!(
            MappingLimits::of(&nested(2)),
            MappingLimits {
                depth: 3,
                fields: 3
            }
        );
        // A map of numbers is an object of its own.
        let map = json!({"load": {"type": "object", "dynamic": true}});
        assert_eq!(MappingLimits::of(map.as_object().unwrap()).depth, 2);
        assert_eq!(MappingLimits::of(&nested(19)).depth, 20);
        assert_eq!(MappingLimits::of(&nested(20)).depth, 21);
    }
}
