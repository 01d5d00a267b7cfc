//! What the derive emits beside its errors (thiserror's `fallback.rs`): the
//! trait impls with bodies that never run, and the `{Type}Fields` struct,
//! so that a mistake in the attributes is reported once, at the attribute,
//! and code that uses the type (`T::record_type()`, `T::fields().path`,
//! `store.record(t)`, a record holding a composite) adds no errors of its
//! own. The program does not compile, so nothing here ever runs.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::{Container, Derive};
use crate::expand;

/// `container` is the model when the input is a struct with named fields.
pub(crate) fn expand(
    input: &DeriveInput,
    container: Option<&Container>,
    derive: Derive,
) -> TokenStream {
    let ident = &input.ident;
    // A generic struct (refused) has no fields struct: its handles would
    // name the parameters.
    let container = container.filter(|_| input.generics.params.is_empty());
    let (fields_struct, fields_type) = match container {
        Some(container) => {
            let fields_ident = expand::fields_ident(container);
            (expand::fields_struct(container), quote!(#fields_ident))
        }
        None => (TokenStream::new(), quote!(())),
    };
    // A generic struct (refused) implements the traits where it can: the
    // supertraits are assumed rather than proven for every parameter.
    let mut generics = input.generics.clone();
    if !generics.params.is_empty() {
        let supertraits: syn::WherePredicate = match derive {
            Derive::Record => syn::parse_quote!(
                Self: __esrecord::Serialize + __esrecord::DeserializeOwned + ::core::marker::Send + ::core::marker::Sync + 'static
            ),
            Derive::Composite => syn::parse_quote!(Self: __esrecord::Serialize),
        };
        generics.make_where_clause().predicates.push(supertraits);
    }
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let impls = match derive {
        Derive::Record => quote! {
            #[automatically_derived]
            impl #impl_generics __esrecord::Record for #ident #type_generics #where_clause {
                type Fields = #fields_type;

                fn record_type() -> &'static __esrecord::RecordType {
                    ::core::unreachable!()
                }

                fn fields() -> &'static Self::Fields {
                    ::core::unreachable!()
                }

                fn timestamp(&self) -> __esrecord::Option<__esrecord::DateTime<__esrecord::Utc>> {
                    ::core::unreachable!()
                }

                fn unique_id(&self) -> __esrecord::Result<__esrecord::Option<__esrecord::String>> {
                    ::core::unreachable!()
                }
            }
        },
        Derive::Composite => quote! {
            #[automatically_derived]
            impl #impl_generics __esrecord::FieldType for #ident #type_generics #where_clause {
                type Handle = #fields_type;

                fn mapping(_: &str, _: &mut __esrecord::DynamicTemplates) -> __esrecord::Value {
                    ::core::unreachable!()
                }

                fn handle(_: __esrecord::String) -> Self::Handle {
                    ::core::unreachable!()
                }
            }

            #[automatically_derived]
            impl #impl_generics __esrecord::Composite for #ident #type_generics #where_clause {
                type Fields = #fields_type;

                fn properties(
                    _: &str,
                    _: &mut __esrecord::DynamicTemplates,
                ) -> __esrecord::Map<__esrecord::String, __esrecord::Value> {
                    ::core::unreachable!()
                }

                fn fields_at(_: &str) -> Self::Fields {
                    ::core::unreachable!()
                }

                fn shape_fields() -> __esrecord::Vec<__esrecord::ShapeField> {
                    ::core::unreachable!()
                }
            }
        },
    };
    quote! {
        #fields_struct

        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            use ::esrecord::__private as __esrecord;
            #impls
        };
    }
}
