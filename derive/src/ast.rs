//! The derive input as a small, validated model: the struct, its stored
//! fields and, for records, everything the runtime's `RecordSpec` needs.

use std::collections::BTreeMap;

use syn::{Data, DeriveInput, Fields, Ident, Type, Visibility};

use crate::attr::{self, SettingLit};
use crate::ctxt::Ctxt;
use crate::shared::names::{NameProblem, check_name, check_template_name};
use crate::shared::{Dynamic, Retention, Timedepth};

/// Which derive is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derive {
    Record,
    Composite,
}

impl Derive {
    fn name(self) -> &'static str {
        match self {
            Derive::Record => "Record",
            Derive::Composite => "Composite",
        }
    }
}

pub(crate) struct Container<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) fields: Vec<Field<'a>>,
    /// Present for `#[derive(Record)]`.
    pub(crate) record: Option<RecordModel>,
}

pub(crate) struct Field<'a> {
    pub(crate) member: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) ty: &'a Type,
    /// The name serde writes the field under.
    pub(crate) stored_name: String,
    pub(crate) kind: FieldKind,
    /// Marked `#[record(timestamp)]`.
    pub(crate) timestamp_mark: bool,
    /// Written by custom code (serde's `with`, `serialize_with`, `getter`),
    /// in a shape its type does not tell: not checked.
    pub(crate) custom_serialize: bool,
    /// serde's `skip_serializing_if` predicate: checked only when written.
    pub(crate) skip_serializing_if: Option<syn::ExprPath>,
}

/// How a field is mapped.
pub(crate) enum FieldKind {
    /// serde never writes it: no mapping, no handle.
    Skipped,
    /// By its type's `FieldType`.
    ByType,
    /// `#[record(keyword)]`.
    Keyword,
    /// `#[record(text)]`.
    Text,
    /// `#[record(mapping = "...")]`.
    Literal(String),
    /// A `Composite` whose fields merge into the parent.
    Flatten,
}

pub(crate) struct RecordModel {
    pub(crate) name: String,
    pub(crate) app_label: String,
    pub(crate) timedepth: Option<Timedepth>,
    pub(crate) template_name: Option<String>,
    pub(crate) template: Option<String>,
    pub(crate) settings: Vec<(String, SettingLit)>,
    pub(crate) dynamic: Dynamic,
    pub(crate) backend: String,
    pub(crate) retention: Option<Retention>,
    /// Indexes into `fields`, sorted by stored name.
    pub(crate) unique_together: Vec<usize>,
    pub(crate) simple: bool,
    /// Index into `fields`.
    pub(crate) timestamp: Option<usize>,
}

impl<'a> Container<'a> {
    /// Builds the model, recording every problem in `cx`. `None` when the
    /// input is not a struct with named fields (nothing more to check).
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a DeriveInput, derive: Derive) -> Option<Self> {
        let attrs = attr::Container::from_attrs(cx, &input.attrs);
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(named),
                Fields::Unnamed(_) | Fields::Unit => None,
            },
            Data::Enum(_) | Data::Union(_) => None,
        };
        let Some(named) = named else {
            cx.error_spanned_by(&input.ident, format!(
                "#[derive({})] applies to structs with named fields; `{}` is not one. Stored documents are JSON objects, so declare a struct with named fields",
                derive.name(),
                input.ident
            ));
            return None;
        };
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(&input.generics, format!(
                "#[derive({})] does not support generic parameters: each record type has one fixed mapping. Declare a concrete struct",
                derive.name()
            ));
        }

        let fields: Vec<Field> = named
            .named
            .iter()
            .filter_map(|field| {
                let member = field.ident.as_ref()?;
                Some(Field::from_ast(cx, field, member, &attrs, derive))
            })
            .collect();
        check_stored_names(cx, &fields);

        let record = match derive {
            Derive::Record => Some(RecordModel::from_attrs(cx, input, &attrs, &fields)),
            Derive::Composite => {
                reject_record_attributes(cx, &attrs);
                None
            }
        };
        Some(Container {
            ident: &input.ident,
            vis: &input.vis,
            fields,
            record,
        })
    }

    /// The fields that are written, with their positions.
    pub(crate) fn stored_fields(&self) -> impl Iterator<Item = &Field<'a>> {
        self.fields
            .iter()
            .filter(|f| !matches!(f.kind, FieldKind::Skipped))
    }
}

impl<'a> Field<'a> {
    fn from_ast(
        cx: &Ctxt,
        field: &'a syn::Field,
        member: &'a Ident,
        container: &attr::Container,
        derive: Derive,
    ) -> Self {
        let attrs = attr::Field::from_attrs(cx, &field.attrs);
        let rust_name = member.to_string();
        let rust_name = rust_name.strip_prefix("r#").unwrap_or(&rust_name);
        let stored_name = match (attrs.rename.get(), container.rename_all.get()) {
            (Some(name), _) => name.clone(),
            (None, Some(rule)) => rule.apply_to_field(rust_name),
            (None, None) => rust_name.to_owned(),
        };
        if derive == Derive::Composite
            && let Some(tokens) = attrs.timestamp.tokens()
        {
            cx.error_spanned_by(tokens, "a Composite has no timestamp of its own; mark the timestamp on the record's field instead");
        }
        if let (Some(tokens), true) = (attrs.timestamp.tokens(), attrs.skip.is_set()) {
            cx.error_spanned_by(tokens, "the timestamp field is skipped by serde, so it would never be stored; remove `skip`");
        }
        let kind = if attrs.skip.is_set() {
            FieldKind::Skipped
        } else if attrs.flatten.is_set() {
            FieldKind::Flatten
        } else if let Some(mapping) = attrs.mapping.get() {
            FieldKind::Literal(mapping.clone())
        } else if attrs.keyword.is_set() {
            FieldKind::Keyword
        } else if attrs.text.is_set() {
            FieldKind::Text
        } else {
            FieldKind::ByType
        };
        Field {
            member,
            vis: &field.vis,
            ty: &field.ty,
            stored_name,
            kind,
            timestamp_mark: attrs.timestamp.is_set(),
            custom_serialize: attrs.custom_serialize.is_set(),
            skip_serializing_if: attrs.skip_serializing_if.get().cloned(),
        }
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
    ];
    for tokens in record_only.into_iter().flatten() {
        cx.error_spanned_by(tokens, format!(
            "`{tokens}` applies to #[derive(Record)] only; a Composite is stored inside the record that holds it"
        ));
    }
}

impl RecordModel {
    fn from_attrs(
        cx: &Ctxt,
        input: &DeriveInput,
        attrs: &attr::Container,
        fields: &[Field],
    ) -> Self {
        let simple = attrs.simple.is_set();
        if simple {
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

        let ident = input.ident.to_string();
        let name = attrs
            .name
            .get()
            .cloned()
            .unwrap_or_else(|| ident.trim_start_matches("r#").to_lowercase());
        let app_label = match attrs.app_label.get() {
            Some(label) => label.clone(),
            None => default_app_label(cx, &input.ident),
        };
        check_template_name_room(cx, input, attrs, &app_label, &name);

        RecordModel {
            timestamp: find_timestamp(cx, input, fields, simple),
            unique_together: resolve_unique_together(cx, attrs, fields),
            name,
            app_label,
            timedepth: attrs.timedepth.get().copied(),
            template_name: attrs.template_name.get().cloned(),
            template: attrs.template.get().cloned(),
            settings: attrs.settings.get().cloned().unwrap_or_default(),
            dynamic: attrs.dynamic.get().copied().unwrap_or_default(),
            backend: attrs
                .backend
                .get()
                .cloned()
                .unwrap_or_else(|| "default".into()),
            retention: attrs.retention.get().copied(),
            simple,
        }
    }
}

/// The template name the attributes make (`template_name`, else
/// `{app_label}_{name}`) leaves room for the time suffix of the type's index
/// names: the rule the runtime applies again with the backend's prefix.
/// A part that breaks the name rule on its own was reported already.
fn check_template_name_room(
    cx: &Ctxt,
    input: &DeriveInput,
    attrs: &attr::Container,
    app_label: &str,
    name: &str,
) {
    let (template_name, tokens, hint) = match attrs.template_name.get() {
        Some(template_name) => (
            template_name.clone(),
            attrs.template_name.tokens(),
            "shorten `template_name`",
        ),
        None => (
            format!("{app_label}_{name}"),
            attrs.name.tokens().or(attrs.app_label.tokens()),
            "shorten `name` or `app_label`, or set a shorter `template_name`",
        ),
    };
    let parts_are_names = match attrs.template_name.get() {
        Some(template_name) => check_name(template_name, false).is_ok(),
        None => [app_label, name]
            .into_iter()
            .all(|part| check_name(part, false).is_ok()),
    };
    if !parts_are_names {
        return;
    }
    if let Err(problem @ NameProblem::TooLong { .. }) =
        check_template_name(&template_name, !attrs.simple.is_set())
    {
        let message = format!("invalid template name {template_name:?}: {problem}; {hint}");
        match tokens {
            Some(tokens) => cx.error_spanned_by(tokens, message),
            None => cx.error_spanned_by(&input.ident, message),
        }
    }
}

/// The defining crate's name, which cargo passes to the compiler that runs
/// this macro.
fn default_app_label(cx: &Ctxt, ident: &Ident) -> String {
    match std::env::var("CARGO_CRATE_NAME") {
        Ok(crate_name) => {
            let label = crate_name.to_lowercase();
            if let Err(problem) = check_name(&label, false) {
                cx.error_spanned_by(ident, format!(
                    "the crate name {crate_name:?} cannot be the app label ({problem}); set #[record(app_label = \"...\")]"
                ));
            }
            label
        }
        Err(_) => {
            cx.error_spanned_by(ident, "no crate name to use as the app label (not built by cargo); set #[record(app_label = \"...\")]");
            String::new()
        }
    }
}

/// The field marked `#[record(timestamp)]`, else the field named `timestamp`.
fn find_timestamp(cx: &Ctxt, input: &DeriveInput, fields: &[Field], simple: bool) -> Option<usize> {
    let mut marked = fields.iter().enumerate().filter(|(_, f)| f.timestamp_mark);
    let first_marked = marked.next().map(|(i, _)| i);
    for (_, extra) in marked {
        cx.error_spanned_by(
            extra.member,
            "only one field can be the timestamp; remove one #[record(timestamp)]",
        );
    }
    let found = first_marked.or_else(|| {
        fields.iter().position(|f| {
            f.member == "timestamp" && !matches!(f.kind, FieldKind::Skipped | FieldKind::Flatten)
        })
    });
    if found.is_none() && !simple {
        cx.error_spanned_by(&input.ident, format!(
            "record `{}` has no timestamp: add a field `timestamp: chrono::DateTime<chrono::Utc>`, mark a DateTime<Utc> field #[record(timestamp)], or declare #[record(simple)] for a record that is not a time series",
            input.ident
        ));
    }
    found
}

fn resolve_unique_together(cx: &Ctxt, attrs: &attr::Container, fields: &[Field]) -> Vec<usize> {
    let mut resolved: Vec<usize> = Vec::new();
    for ident in attrs.unique_together.get().into_iter().flatten() {
        match fields.iter().position(|f| f.member == ident) {
            None => {
                let known: Vec<String> = fields.iter().map(|f| f.member.to_string()).collect();
                cx.error_spanned_by(ident, format!(
                    "unique_together names `{ident}`, which is not a field of this struct; fields: {}",
                    known.join(", ")
                ));
            }
            Some(i) if matches!(fields[i].kind, FieldKind::Skipped) => {
                cx.error_spanned_by(ident, format!(
                    "`{ident}` is skipped by serde, so it is not stored and cannot identify a record"
                ));
            }
            Some(i) if matches!(fields[i].kind, FieldKind::Flatten) => {
                cx.error_spanned_by(ident, format!(
                    "`{ident}` is flattened, so it has no stored name of its own; list fields of this struct only"
                ));
            }
            Some(i) if resolved.contains(&i) => {
                cx.error_spanned_by(
                    ident,
                    format!("`{ident}` is listed twice in unique_together"),
                );
            }
            Some(i) => resolved.push(i),
        }
    }
    resolved.sort_by(|a, b| fields[*a].stored_name.cmp(&fields[*b].stored_name));
    resolved
}
