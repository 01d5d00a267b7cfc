//! The rules about attributes and fields together (serde's
//! `internals/check.rs`, thiserror's `valid.rs`): `attr.rs` has refused
//! what is wrong on its own, `ast.rs` has built the model, and this checks
//! the model, recording each problem in the [`Ctxt`] at the token that
//! caused it.

use std::collections::BTreeMap;

use syn::Ident;

use crate::ast::{Container, Derive, Field, FieldKind, RecordModel};
use crate::attr;
use crate::ctxt::Ctxt;
use crate::shared::names::{NameProblem, check_name, check_template_name};

/// Checks the model of a derive input.
pub(crate) fn check(cx: &Ctxt, cont: &Container) {
    let timestamp = cont.record.as_ref().and_then(|record| record.timestamp);
    for (i, field) in cont.fields.iter().enumerate() {
        check_field_attributes(cx, &field.attrs);
        check_field_timestamp(cx, field, cont.derive);
        check_field_time_series(cx, field, cont.derive, timestamp == Some(i));
    }
    check_stored_names(cx, &cont.fields);
    match &cont.record {
        Some(record) => {
            check_simple(cx, &cont.attrs, record);
            check_template_name_room(cx, cont, record);
            check_timestamp(cx, cont, record);
            check_unique_together(cx, &cont.fields, record);
            check_data_stream(cx, &cont.attrs, record);
        }
        None => reject_record_attributes(cx, &cont.attrs),
    }
}

/// The attributes of one field that do not go together.
fn check_field_attributes(cx: &Ctxt, attrs: &attr::Field) {
    let kinds = [
        ("keyword", attrs.keyword.tokens()),
        ("text", attrs.text.tokens()),
        ("mapping", attrs.mapping.tokens()),
    ];
    let given: Vec<_> = kinds
        .iter()
        .filter_map(|(name, tokens)| tokens.map(|t| (*name, t)))
        .collect();
    if let [(first, _), (second, tokens), ..] = given.as_slice() {
        cx.error_spanned_by(
            tokens,
            format!("`{first}` and `{second}` both set this field's mapping; keep one"),
        );
    }
    if let Some(tokens) = attrs.record_flatten.tokens()
        && !attrs.flatten.is_set()
    {
        cx.error_spanned_by(tokens, "`#[record(flatten)]` needs `#[serde(flatten)]` beside it: serde decides where the fields are written, so add #[serde(flatten)] (then #[record(flatten)] may go)");
    }
    if let Some(tokens) = attrs.flatten.tokens().or(attrs.record_flatten.tokens()) {
        if let Some((name, _)) = given.first() {
            cx.error_spanned_by(
                tokens,
                format!(
                    "a flattened field has no mapping of its own; remove `{name}` or `flatten`"
                ),
            );
        }
        if attrs.timestamp.is_set() {
            cx.error_spanned_by(tokens, "the timestamp field cannot be flattened");
        }
    }
    if let (Some(tokens), Some(how)) = (
        attrs.custom_serialize.tokens(),
        attrs.custom_serialize.get(),
    ) && !attrs.mapping.is_set()
        && !attrs.skip.is_set()
    {
        cx.error_spanned_by(tokens, format!(
            "`#[serde({how})]` writes this field in a shape esrecord cannot know; state it with #[record(mapping = r#\"{{\"type\": ...}}\"#)]"
        ));
    }
}

/// `#[record(timestamp)]` where no timestamp can be.
fn check_field_timestamp(cx: &Ctxt, field: &Field, derive: Derive) {
    let Some(tokens) = field.attrs.timestamp.tokens() else {
        return;
    };
    if derive == Derive::Composite {
        cx.error_spanned_by(tokens, "a Composite has no timestamp of its own; mark the timestamp on the record's field instead");
    }
    if field.attrs.skip.is_set() {
        cx.error_spanned_by(
            tokens,
            "the timestamp field is skipped by serde, so it would never be stored; remove `skip`",
        );
    }
}

/// `dimension` and `time_series_metric`: on a stored field of the record
/// itself that is not its timestamp, one of the two.
fn check_field_time_series(cx: &Ctxt, field: &Field, derive: Derive, is_timestamp: bool) {
    let attrs = &field.attrs;
    let marks = [
        ("dimension", attrs.dimension.tokens()),
        ("time_series_metric", attrs.time_series_metric.tokens()),
    ];
    for (name, tokens) in marks {
        let Some(tokens) = tokens else { continue };
        let problem = if derive == Derive::Composite {
            Some(format!(
                "`{name}` applies to fields of the #[derive(Record)] struct itself; a time series names its dimensions and metrics at the top of the document"
            ))
        } else if matches!(field.kind, FieldKind::Skipped | FieldKind::Flatten) {
            Some(format!(
                "a skipped or flattened field has no stored value of its own to be a `{name}`; remove `{name}`"
            ))
        } else if is_timestamp {
            Some(format!(
                "the timestamp is the time series' time, not a `{name}`; remove `{name}`"
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            cx.error_spanned_by(tokens, message);
        }
    }
    if let (Some(_), Some(tokens)) = (attrs.dimension.tokens(), attrs.time_series_metric.tokens()) {
        cx.error_spanned_by(tokens, "a field is a dimension (what identifies a time series) or a metric (what it measures), not both; keep one");
    }
}

/// Two written fields under one name would be one field in the document.
fn check_stored_names(cx: &Ctxt, fields: &[Field]) {
    let mut seen: BTreeMap<&str, &Ident> = BTreeMap::new();
    for field in fields {
        if matches!(field.kind, FieldKind::Skipped | FieldKind::Flatten) {
            continue;
        }
        if let Some(first) = seen.insert(&field.stored_name, field.member) {
            cx.error_spanned_by(field.member, format!(
                "fields `{first}` and `{}` are both stored as {:?}; rename one with #[serde(rename = \"...\")]",
                field.member, field.stored_name
            ));
        }
    }
}

fn reject_record_attributes(cx: &Ctxt, attrs: &attr::Container) {
    let record_only = [
        attrs.name.tokens(),
        attrs.app_label.tokens(),
        attrs.timedepth.tokens(),
        attrs.template_name.tokens(),
        attrs.template.tokens(),
        attrs.settings.tokens(),
        attrs.dynamic.tokens(),
        attrs.backend.tokens(),
        attrs.retention.tokens(),
        attrs.unique_together.tokens(),
        attrs.simple.tokens(),
        attrs.data_stream.tokens(),
    ];
    for tokens in record_only.into_iter().flatten() {
        cx.error_spanned_by(tokens, format!(
            "`{tokens}` applies to #[derive(Record)] only; a Composite is stored inside the record that holds it"
        ));
    }
}

/// A simple record has one index: nothing to partition or match.
fn check_simple(cx: &Ctxt, attrs: &attr::Container, record: &RecordModel) {
    if !record.simple {
        return;
    }
    for (what, tokens) in [
        ("timedepth", attrs.timedepth.tokens()),
        ("template", attrs.template.tokens()),
    ] {
        if let Some(tokens) = tokens {
            cx.error_spanned_by(tokens, format!(
                "a simple record has one index, named after its template, so `{what}` does not apply; remove it or remove `simple`"
            ));
        }
    }
}

/// The template name the attributes make (`template_name`, else
/// `{app_label}_{name}`) leaves room for the time suffix of the type's index
/// names: the rule the runtime applies again with the backend's prefix.
/// Each part has passed the name rule on its own (else it was reported).
fn check_template_name_room(cx: &Ctxt, cont: &Container, record: &RecordModel) {
    let attrs = &cont.attrs;
    let (template_name, tokens, hint) = match &record.template_name {
        Some(template_name) => (
            template_name.clone(),
            attrs.template_name.tokens(),
            "shorten `template_name`",
        ),
        None => (
            format!("{}_{}", record.app_label, record.name),
            attrs.name.tokens().or(attrs.app_label.tokens()),
            "shorten `name` or `app_label`, or set a shorter `template_name`",
        ),
    };
    let parts_are_names = match &record.template_name {
        Some(template_name) => check_name(template_name, false).is_ok(),
        None => [&record.app_label, &record.name]
            .into_iter()
            .all(|part| check_name(part, false).is_ok()),
    };
    if !parts_are_names {
        return;
    }
    if let Err(problem @ NameProblem::TooLong { .. }) =
        check_template_name(&template_name, !record.simple)
    {
        let message = format!("invalid template name {template_name:?}: {problem}; {hint}");
        match tokens {
            Some(tokens) => cx.error_spanned_by(tokens, message),
            None => cx.error_spanned_by(cont.ident, message),
        }
    }
}

/// One timestamp, present unless the record is simple.
fn check_timestamp(cx: &Ctxt, cont: &Container, record: &RecordModel) {
    let marked = cont.fields.iter().filter(|f| f.timestamp_mark);
    for extra in marked.skip(1) {
        cx.error_spanned_by(
            extra.member,
            "only one field can be the timestamp; remove one #[record(timestamp)]",
        );
    }
    if record.timestamp.is_none() && !record.simple {
        cx.error_spanned_by(cont.ident, format!(
            "record `{}` has no timestamp: add a field `timestamp: chrono::DateTime<chrono::Utc>`, mark a DateTime<Utc> field #[record(timestamp)], or declare #[record(simple)] for a record that is not a time series",
            cont.ident
        ));
    }
}

/// A data stream is append-only and time-based: no document replaced by
/// its id, no single index.
fn check_data_stream(cx: &Ctxt, attrs: &attr::Container, record: &RecordModel) {
    let Some(tokens) = attrs.data_stream.tokens() else {
        return;
    };
    if attrs.unique_together.is_set() {
        cx.error_spanned_by(tokens, "a data stream only appends (bulk `create`), so a `unique_together` record, which replaces the document with its id, cannot be one; remove `data_stream`, or `unique_together` and let every record be a new document");
    }
    if record.simple {
        cx.error_spanned_by(tokens, "a data stream is a time series, and a simple record has no time; remove `data_stream` or `simple`");
    }
}

/// Each name in `unique_together` is a stored field of this struct, once.
fn check_unique_together(cx: &Ctxt, fields: &[Field], record: &RecordModel) {
    let mut seen: Vec<usize> = Vec::new();
    for (ident, index) in &record.unique_together {
        let Some(i) = *index else {
            let known: Vec<String> = fields.iter().map(|f| f.member.to_string()).collect();
            cx.error_spanned_by(ident, format!(
                "unique_together names `{ident}`, which is not a field of this struct; fields: {}",
                known.join(", ")
            ));
            continue;
        };
        let problem = match fields[i].kind {
            FieldKind::Skipped => Some(format!(
                "`{ident}` is skipped by serde, so it is not stored and cannot identify a record"
            )),
            FieldKind::Flatten => Some(format!(
                "`{ident}` is flattened, so it has no stored name of its own; list fields of this struct only"
            )),
            _ if seen.contains(&i) => Some(format!("`{ident}` is listed twice in unique_together")),
            _ => None,
        };
        match problem {
            Some(message) => cx.error_spanned_by(ident, message),
            None => seen.push(i),
        }
    }
}
