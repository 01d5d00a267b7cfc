//! The derive input as a small model: the struct, its fields with their
//! attributes and, for records, everything the runtime's `RecordSpec`
//! needs. Building it records what cannot be modelled (not a struct with
//! named fields, generics, no crate name); `check.rs` validates it.

use syn::{Data, DeriveInput, Fields, Ident, Type, Visibility};

use crate::attr::{self, SettingLit};
use crate::ctxt::Ctxt;
use crate::shared::names::check_name;
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
    pub(crate) derive: Derive,
    /// The struct's attributes, for the checks that point at them.
    pub(crate) attrs: attr::Container<'a>,
    pub(crate) fields: Vec<Field<'a>>,
    /// Present for `#[derive(Record)]`.
    pub(crate) record: Option<RecordModel>,
}

pub(crate) struct Field<'a> {
    pub(crate) member: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) ty: &'a Type,
    /// The field's attributes, for the checks that point at them.
    pub(crate) attrs: attr::Field<'a>,
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
    /// The names in `unique_together`, each with its index into `fields`
    /// when it names a field.
    pub(crate) unique_together: Vec<(Ident, Option<usize>)>,
    pub(crate) simple: bool,
    /// `data_stream`: written to a data stream where the backend allows.
    pub(crate) data_stream: Option<attr::DataStreamAttr>,
    /// Index into `fields`: the first field marked `#[record(timestamp)]`,
    /// else the stored field named `timestamp`.
    pub(crate) timestamp: Option<usize>,
}

impl<'a> Container<'a> {
    /// Builds the model, recording in `cx` what keeps it from being built.
    /// `None` when the input is not a struct with named fields (nothing
    /// more to check).
    pub(crate) fn from_ast(cx: &'a Ctxt, input: &'a DeriveInput, derive: Derive) -> Option<Self> {
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
                Some(Field::from_ast(cx, field, member, &attrs))
            })
            .collect();
        let record = match derive {
            Derive::Record => Some(RecordModel::from_attrs(cx, input, &attrs, &fields)),
            Derive::Composite => None,
        };
        Some(Container {
            ident: &input.ident,
            vis: &input.vis,
            derive,
            attrs,
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

    /// The fields of the `unique_together` key, sorted by stored name.
    pub(crate) fn unique_key_fields(&self, record: &RecordModel) -> Vec<&Field<'a>> {
        let mut key: Vec<&Field> = record
            .unique_together
            .iter()
            .filter_map(|(_, index)| index.map(|i| &self.fields[i]))
            .collect();
        key.sort_by(|a, b| a.stored_name.cmp(&b.stored_name));
        key
    }
}

impl<'a> Field<'a> {
    fn from_ast(
        cx: &'a Ctxt,
        field: &'a syn::Field,
        member: &'a Ident,
        container: &attr::Container,
    ) -> Self {
        let attrs = attr::Field::from_attrs(cx, &field.attrs);
        let rust_name = member.to_string();
        let rust_name = rust_name.strip_prefix("r#").unwrap_or(&rust_name);
        let stored_name = match (attrs.rename.get(), container.rename_all.get()) {
            (Some(name), _) => name.clone(),
            (None, Some(rule)) => rule.apply_to_field(rust_name),
            (None, None) => rust_name.to_owned(),
        };
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
            attrs,
        }
    }
}

impl RecordModel {
    fn from_attrs(
        cx: &Ctxt,
        input: &DeriveInput,
        attrs: &attr::Container,
        fields: &[Field],
    ) -> Self {
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
        let timestamp = fields.iter().position(|f| f.timestamp_mark).or_else(|| {
            fields.iter().position(|f| {
                f.member == "timestamp"
                    && !matches!(f.kind, FieldKind::Skipped | FieldKind::Flatten)
            })
        });
        let unique_together = attrs
            .unique_together
            .get()
            .into_iter()
            .flatten()
            .map(|ident| (ident.clone(), fields.iter().position(|f| f.member == ident)))
            .collect();

        RecordModel {
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
            unique_together,
            simple: attrs.simple.is_set(),
            data_stream: attrs.data_stream.get().cloned(),
            timestamp,
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
