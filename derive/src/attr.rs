//! Parsing `#[record(...)]` and the `#[serde(...)]` attributes that decide
//! what serde writes, one attribute at a time: a value that is wrong on its
//! own (an unknown timedepth, an invalid name, a duplicate) is recorded in
//! the [`Ctxt`] at the offending token, and parsing goes on so that all are
//! reported together. Rules about attributes together are in `check.rs`.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, ExprLit, ExprUnary, Lit, LitStr, UnOp};

use crate::case::RenameRule;
use crate::ctxt::Ctxt;
use crate::shared::names::check_name;
use crate::shared::{Dynamic, Retention, TimeSeriesMetric, Timedepth};

/// One attribute value, remembering where it was written so that a second
/// occurrence and later cross-checks can point at it.
pub(crate) struct Attr<'c, T> {
    cx: &'c Ctxt,
    name: &'static str,
    value: Option<(TokenStream, T)>,
}

impl<'c, T> Attr<'c, T> {
    fn none(cx: &'c Ctxt, name: &'static str) -> Self {
        Attr {
            cx,
            name,
            value: None,
        }
    }

    fn set<S: ToTokens>(&mut self, spanned: S, value: T) {
        let tokens = spanned.into_token_stream();
        if self.value.is_some() {
            self.cx.error_spanned_by(
                tokens,
                format!("duplicate `{}` attribute; give it once", self.name),
            );
        } else {
            self.value = Some((tokens, value));
        }
    }

    pub(crate) fn get(&self) -> Option<&T> {
        self.value.as_ref().map(|(_, value)| value)
    }

    /// The tokens the attribute was written as, for errors about it.
    pub(crate) fn tokens(&self) -> Option<&TokenStream> {
        self.value.as_ref().map(|(tokens, _)| tokens)
    }

    pub(crate) fn is_set(&self) -> bool {
        self.value.is_some()
    }
}

/// A setting value in `settings(...)`.
#[derive(Clone, Debug)]
pub(crate) enum SettingLit {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

const RECORD_ATTRIBUTES: &str = "name, app_label, timedepth, template_name, template, settings(...), dynamic, backend, retention, unique_together(...), simple, data_stream";
const FIELD_ATTRIBUTES: &str =
    "timestamp, keyword, text, mapping, flatten, dimension, time_series_metric";

/// `#[record(data_stream)]` or `#[record(data_stream(type = "metrics", dataset = "shop.pageview"))]`.
#[derive(Clone, Debug, Default)]
pub(crate) struct DataStreamAttr {
    /// Elastic's `type` part (`logs`, `metrics`...): the stream is named
    /// `{type}-{dataset}-{namespace}` when given.
    pub(crate) kind: Option<String>,
    /// Elastic's `dataset` part; `{app_label}.{name}` by default.
    pub(crate) dataset: Option<String>,
}

/// The attributes on the struct.
pub(crate) struct Container<'c> {
    pub(crate) name: Attr<'c, String>,
    pub(crate) app_label: Attr<'c, String>,
    pub(crate) timedepth: Attr<'c, Timedepth>,
    pub(crate) template_name: Attr<'c, String>,
    pub(crate) template: Attr<'c, String>,
    pub(crate) settings: Attr<'c, Vec<(String, SettingLit)>>,
    pub(crate) dynamic: Attr<'c, Dynamic>,
    pub(crate) backend: Attr<'c, String>,
    pub(crate) retention: Attr<'c, Retention>,
    pub(crate) unique_together: Attr<'c, Vec<syn::Ident>>,
    pub(crate) simple: Attr<'c, ()>,
    pub(crate) data_stream: Attr<'c, DataStreamAttr>,
    /// serde's `rename_all` (the serialize side).
    pub(crate) rename_all: Attr<'c, RenameRule>,
}

impl<'c> Container<'c> {
    pub(crate) fn from_attrs(cx: &'c Ctxt, attrs: &[Attribute]) -> Self {
        let mut c = Container {
            name: Attr::none(cx, "name"),
            app_label: Attr::none(cx, "app_label"),
            timedepth: Attr::none(cx, "timedepth"),
            template_name: Attr::none(cx, "template_name"),
            template: Attr::none(cx, "template"),
            settings: Attr::none(cx, "settings"),
            dynamic: Attr::none(cx, "dynamic"),
            backend: Attr::none(cx, "backend"),
            retention: Attr::none(cx, "retention"),
            unique_together: Attr::none(cx, "unique_together"),
            simple: Attr::none(cx, "simple"),
            data_stream: Attr::none(cx, "data_stream"),
            rename_all: Attr::none(cx, "rename_all"),
        };
        for attr in attrs {
            if attr.path().is_ident("record") {
                parse_nested(cx, attr, |meta| c.parse_record_meta(cx, meta));
            } else if attr.path().is_ident("serde") {
                parse_nested(cx, attr, |meta| c.parse_serde_meta(cx, meta));
            }
        }
        c
    }

    fn parse_record_meta(&mut self, cx: &Ctxt, meta: ParseNestedMeta) -> syn::Result<()> {
        let path = meta.path.clone();
        let key = path_name(&path);
        match key.as_str() {
            "name" | "app_label" | "template_name" => {
                let lit: LitStr = meta.value()?.parse()?;
                if let Err(problem) = check_name(&lit.value(), false) {
                    cx.error_spanned_by(
                        &lit,
                        format!("invalid {key} {:?}: {problem}", lit.value()),
                    );
                }
                let attr = match key.as_str() {
                    "name" => &mut self.name,
                    "app_label" => &mut self.app_label,
                    _ => &mut self.template_name,
                };
                attr.set(&path, lit.value());
            }
            "template" => {
                let lit: LitStr = meta.value()?.parse()?;
                let pattern = lit.value();
                if !pattern.contains('*') {
                    cx.error_spanned_by(&lit, format!(
                        "template {pattern:?} has no `*`: it is the index pattern that every partition of the type must match, such as \"{pattern}_*\""
                    ));
                } else if let Err(problem) = check_name(&pattern, true) {
                    cx.error_spanned_by(&lit, format!("invalid template {pattern:?}: {problem}"));
                }
                self.template.set(&path, pattern);
            }
            "timedepth" => {
                let lit: LitStr = meta.value()?.parse()?;
                match Timedepth::from_name(&lit.value()) {
                    Some(depth) => self.timedepth.set(&path, depth),
                    None => cx.error_spanned_by(
                        &lit,
                        format!(
                            "unknown timedepth {:?}; use one of {}",
                            lit.value(),
                            quoted(Timedepth::ALL.map(Timedepth::as_str))
                        ),
                    ),
                }
            }
            "dynamic" => {
                let value = meta.value()?;
                let text = if value.peek(LitStr) {
                    let lit: LitStr = value.parse()?;
                    (lit.value(), lit.into_token_stream())
                } else {
                    let lit: syn::LitBool = value.parse()?;
                    (lit.value.to_string(), lit.into_token_stream())
                };
                match Dynamic::from_name(&text.0) {
                    Some(dynamic) => self.dynamic.set(&path, dynamic),
                    None => cx.error_spanned_by(
                        text.1,
                        format!(
                            "unknown dynamic setting {:?}; use one of {}",
                            text.0,
                            quoted(Dynamic::ALL.map(Dynamic::as_str))
                        ),
                    ),
                }
            }
            "backend" => {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().trim().is_empty() {
                    cx.error_spanned_by(&lit, "backend name is empty; name a backend from your configuration, or leave `backend` out for \"default\"");
                }
                self.backend.set(&path, lit.value());
            }
            "retention" => {
                let lit: LitStr = meta.value()?.parse()?;
                match Retention::parse(&lit.value()) {
                    Some(retention) => self.retention.set(&path, retention),
                    None => cx.error_spanned_by(&lit, format!(
                        "invalid retention {:?}; write a whole number and a unit: \"90d\", \"12h\", \"2w\", \"30m\" or \"45s\"",
                        lit.value()
                    )),
                }
            }
            "settings" => {
                let mut settings = Vec::new();
                meta.parse_nested_meta(|setting| {
                    let key = path_name(&setting.path);
                    let expr: Expr = setting.value()?.parse()?;
                    match setting_lit(&expr) {
                        Some(value) => settings.push((key, value)),
                        None => cx.error_spanned_by(
                            &expr,
                            format!("setting `{key}` must be a string, number or boolean literal"),
                        ),
                    }
                    Ok(())
                })?;
                self.settings.set(&path, settings);
            }
            "unique_together" => {
                let mut fields = Vec::new();
                meta.parse_nested_meta(|field| {
                    match field.path.get_ident() {
                        Some(ident) => fields.push(ident.clone()),
                        None => {
                            cx.error_spanned_by(&field.path, "unique_together lists field names")
                        }
                    }
                    Ok(())
                })?;
                if fields.is_empty() {
                    cx.error_spanned_by(
                        &path,
                        "unique_together needs at least one field: unique_together(day, item_id)",
                    );
                }
                self.unique_together.set(&path, fields);
            }
            "simple" => self.simple.set(&path, ()),
            "data_stream" => {
                let mut stream = DataStreamAttr::default();
                if meta.input.peek(syn::token::Paren) {
                    meta.parse_nested_meta(|part| {
                        let key = path_name(&part.path);
                        let lit: LitStr = part.value()?.parse()?;
                        let slot = match key.as_str() {
                            "type" => &mut stream.kind,
                            "dataset" => &mut stream.dataset,
                            _ => {
                                cx.error_spanned_by(&part.path, format!("unknown data_stream part `{key}`; expected `type` or `dataset`, as in data_stream(type = \"metrics\", dataset = \"shop.pageview\")"));
                                return Ok(());
                            }
                        };
                        if let Err(problem) = check_stream_part(&lit.value()) {
                            cx.error_spanned_by(&lit, format!("invalid data_stream {key} {:?}: {problem}", lit.value()));
                        }
                        *slot = Some(lit.value());
                        Ok(())
                    })?;
                    if stream.dataset.is_some() && stream.kind.is_none() {
                        cx.error_spanned_by(&path, "a data_stream `dataset` names the middle of Elastic's `{type}-{dataset}-{namespace}`; give `type` too, as in data_stream(type = \"logs\", dataset = \"shop.pageview\")");
                    }
                }
                self.data_stream.set(&path, stream);
            }
            _ => {
                let hint = if FIELD_ATTRIBUTES.split(", ").any(|a| a == key) {
                    format!("`{key}` is a field attribute; put it on a field")
                } else {
                    unknown_hint(&key, RECORD_ATTRIBUTES)
                };
                cx.error_spanned_by(&path, format!("unknown record attribute `{key}`; {hint}"));
                skip_value(&meta)?;
            }
        }
        Ok(())
    }

    fn parse_serde_meta(&mut self, cx: &Ctxt, meta: ParseNestedMeta) -> syn::Result<()> {
        let key = path_name(&meta.path);
        match key.as_str() {
            "rename_all" => {
                if let Some(rule) = serialize_name(&meta)? {
                    match RenameRule::from_str(&rule.value()) {
                        Some(rule) => self.rename_all.set(&meta.path, rule),
                        None => cx.error_spanned_by(&rule, "unknown rename_all rule"),
                    }
                }
            }
            "tag" | "content" | "untagged" | "transparent" | "into" | "from" | "try_from"
            | "remote" => {
                cx.error_spanned_by(&meta.path, format!(
                    "esrecord cannot follow `#[serde({key})]`: it changes the shape of the stored document, which the mapping must describe field by field; remove it, and model the shape with plain fields and `#[derive(Composite)]` structs"
                ));
                skip_value(&meta)?;
            }
            _ => skip_value(&meta)?,
        }
        Ok(())
    }
}

/// The attributes on one field.
pub(crate) struct Field<'c> {
    pub(crate) timestamp: Attr<'c, ()>,
    pub(crate) keyword: Attr<'c, ()>,
    pub(crate) text: Attr<'c, ()>,
    pub(crate) mapping: Attr<'c, String>,
    /// `#[serde(flatten)]`: serde writes the fields at the parent's level.
    pub(crate) flatten: Attr<'c, ()>,
    /// `#[record(dimension)]`: a time series dimension.
    pub(crate) dimension: Attr<'c, ()>,
    /// `#[record(time_series_metric = "gauge")]`.
    pub(crate) time_series_metric: Attr<'c, TimeSeriesMetric>,
    /// `#[record(flatten)]`, which only states the same and needs serde's.
    pub(crate) record_flatten: Attr<'c, ()>,
    /// serde's `rename` (the serialize side).
    pub(crate) rename: Attr<'c, String>,
    /// serde's `skip` or `skip_serializing`: the field is never written.
    pub(crate) skip: Attr<'c, ()>,
    /// serde's `with`, `serialize_with` or `getter`: written by custom code.
    pub(crate) custom_serialize: Attr<'c, String>,
    /// serde's `skip_serializing_if`: the predicate that leaves the field out.
    pub(crate) skip_serializing_if: Attr<'c, syn::ExprPath>,
}

impl<'c> Field<'c> {
    pub(crate) fn from_attrs(cx: &'c Ctxt, attrs: &[Attribute]) -> Self {
        let mut f = Field {
            timestamp: Attr::none(cx, "timestamp"),
            keyword: Attr::none(cx, "keyword"),
            text: Attr::none(cx, "text"),
            mapping: Attr::none(cx, "mapping"),
            flatten: Attr::none(cx, "flatten"),
            dimension: Attr::none(cx, "dimension"),
            time_series_metric: Attr::none(cx, "time_series_metric"),
            record_flatten: Attr::none(cx, "flatten"),
            rename: Attr::none(cx, "rename"),
            skip: Attr::none(cx, "skip"),
            custom_serialize: Attr::none(cx, "with"),
            skip_serializing_if: Attr::none(cx, "skip_serializing_if"),
        };
        for attr in attrs {
            if attr.path().is_ident("record") {
                parse_nested(cx, attr, |meta| f.parse_record_meta(cx, meta));
            } else if attr.path().is_ident("serde") {
                parse_nested(cx, attr, |meta| f.parse_serde_meta(meta));
            }
        }
        f
    }

    fn parse_record_meta(&mut self, cx: &Ctxt, meta: ParseNestedMeta) -> syn::Result<()> {
        let key = path_name(&meta.path);
        match key.as_str() {
            "timestamp" => self.timestamp.set(&meta.path, ()),
            "keyword" => self.keyword.set(&meta.path, ()),
            "text" => self.text.set(&meta.path, ()),
            "flatten" => self.record_flatten.set(&meta.path, ()),
            "dimension" => self.dimension.set(&meta.path, ()),
            "time_series_metric" => {
                let lit: LitStr = meta.value()?.parse()?;
                match TimeSeriesMetric::from_name(&lit.value()) {
                    Some(kind) => self.time_series_metric.set(&meta.path, kind),
                    None => cx.error_spanned_by(
                        &lit,
                        format!(
                            "unknown time_series_metric {:?}; use one of {}",
                            lit.value(),
                            quoted(TimeSeriesMetric::ALL.map(TimeSeriesMetric::as_str))
                        ),
                    ),
                }
            }
            "mapping" => {
                let lit: LitStr = meta.value()?.parse()?;
                match serde_json::from_str::<serde_json::Value>(&lit.value()) {
                    Ok(serde_json::Value::Object(_)) => self.mapping.set(&meta.path, lit.value()),
                    Ok(_) => cx.error_spanned_by(&lit, "mapping must be a JSON object, such as r#\"{\"type\": \"keyword\"}\"#"),
                    Err(error) => cx.error_spanned_by(&lit, format!("mapping is not valid JSON ({error}); write it as r#\"{{\"type\": \"keyword\"}}\"#")),
                }
            }
            _ => {
                let hint = if RECORD_ATTRIBUTES
                    .split(", ")
                    .any(|a| a.trim_end_matches("(...)") == key)
                {
                    format!("`{key}` is a struct attribute; put it on the struct")
                } else {
                    unknown_hint(&key, FIELD_ATTRIBUTES)
                };
                cx.error_spanned_by(
                    &meta.path,
                    format!("unknown field attribute `{key}`; {hint}"),
                );
                skip_value(&meta)?;
            }
        }
        Ok(())
    }

    fn parse_serde_meta(&mut self, meta: ParseNestedMeta) -> syn::Result<()> {
        let key = path_name(&meta.path);
        match key.as_str() {
            "rename" => {
                if let Some(name) = serialize_name(&meta)? {
                    self.rename.set(&meta.path, name.value());
                }
            }
            "skip" | "skip_serializing" => self.skip.set(&meta.path, ()),
            "flatten" => self.flatten.set(&meta.path, ()),
            "with" | "serialize_with" | "getter" => {
                self.custom_serialize.set(&meta.path, key);
                skip_value(&meta)?;
            }
            "skip_serializing_if" => {
                // serde reports a predicate that does not parse.
                let lit: LitStr = meta.value()?.parse()?;
                if let Ok(predicate) = lit.parse::<syn::ExprPath>() {
                    self.skip_serializing_if.set(&meta.path, predicate);
                }
            }
            _ => skip_value(&meta)?,
        }
        Ok(())
    }
}

/// A part of an Elastic data stream name (`type` or `dataset`): an index
/// name's characters, and no `-`, which separates the parts.
fn check_stream_part(part: &str) -> Result<(), String> {
    check_name(part, false).map_err(|problem| problem.to_string())?;
    if part.contains('-') {
        return Err("it contains `-`, which separates the parts of `{type}-{dataset}-{namespace}`; use `.` or `_`".into());
    }
    Ok(())
}

/// "did you mean `timedepth`?" for a near miss, else the list of attributes.
fn unknown_hint(key: &str, known: &str) -> String {
    let names = known.split(", ").map(|name| name.trim_end_matches("(...)"));
    let closest = names
        .map(|name| (edit_distance(key, name), name))
        .min()
        .filter(|(distance, _)| *distance <= 2);
    match closest {
        Some((_, name)) => format!("did you mean `{name}`? Expected one of: {known}"),
        None => format!("expected one of: {known}"),
    }
}

/// Levenshtein distance, for short attribute names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Runs `f` on each item of `#[name(...)]`, recording parse errors.
fn parse_nested(cx: &Ctxt, attr: &Attribute, f: impl FnMut(ParseNestedMeta) -> syn::Result<()>) {
    if let Err(error) = attr.parse_nested_meta(f) {
        cx.syn_error(error);
    }
}

fn path_name(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// Consumes what follows an attribute we do not interpret: `= value` or `(...)`.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let value = meta.value()?;
        while !value.is_empty() && !value.peek(syn::Token![,]) {
            value.parse::<proc_macro2::TokenTree>()?;
        }
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_value(&inner))?;
    }
    Ok(())
}

/// The serialize-side name of `rename = "x"` or `rename(serialize = "x", deserialize = "y")`.
fn serialize_name(meta: &ParseNestedMeta) -> syn::Result<Option<LitStr>> {
    if meta.input.peek(syn::Token![=]) {
        return meta.value()?.parse().map(Some);
    }
    let mut name = None;
    meta.parse_nested_meta(|inner| {
        let lit: LitStr = inner.value()?.parse()?;
        if inner.path.is_ident("serialize") {
            name = Some(lit);
        }
        Ok(())
    })?;
    Ok(name)
}

fn setting_lit(expr: &Expr) -> Option<SettingLit> {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Str(s) => Some(SettingLit::Str(s.value())),
            Lit::Int(i) => i.base10_parse().ok().map(SettingLit::Int),
            Lit::Float(f) => f.base10_parse().ok().map(SettingLit::Float),
            Lit::Bool(b) => Some(SettingLit::Bool(b.value)),
            _ => None,
        },
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match setting_lit(expr)? {
            SettingLit::Int(i) => Some(SettingLit::Int(-i)),
            SettingLit::Float(f) => Some(SettingLit::Float(-f)),
            _ => None,
        },
        _ => None,
    }
}

/// `"a", "b", "c"`: the values an attribute takes, for its error.
fn quoted<const N: usize>(names: [&str; N]) -> String {
    names.map(|name| format!("{name:?}")).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_lists() {
        assert_eq!(
            quoted(Timedepth::ALL.map(Timedepth::as_str)),
            r#""year", "month", "day", "hour""#
        );
        assert_eq!(
            quoted(Dynamic::ALL.map(Dynamic::as_str)),
            r#""strict", "true", "false", "runtime""#
        );
    }

    #[test]
    fn near_misses_are_suggested() {
        assert_eq!(edit_distance("timedpeth", "timedepth"), 2);
        assert!(
            unknown_hint("timedpeth", RECORD_ATTRIBUTES).starts_with("did you mean `timedepth`?")
        );
        assert!(unknown_hint("keywrod", FIELD_ATTRIBUTES).starts_with("did you mean `keyword`?"));
        assert!(unknown_hint("colour", FIELD_ATTRIBUTES).starts_with("expected one of"));
    }
}
