//! Derive macros for [esrecord](https://docs.rs/esrecord): `#[derive(Record)]`
//! and `#[derive(Composite)]`. Use them through the `esrecord` crate, which
//! re-exports them and documents their attributes.
//!
//! Each derive parses the struct's attributes one by one (`attr`), builds a
//! small model of it (`ast`), validates the model (`check`), collecting
//! every mistake with its span (`ctxt`), and only then expands (`expand`).
//! When there are mistakes it emits them with impls that never run
//! (`fallback`), so that they are the only errors. The rules it shares with
//! the runtime (names, timedepth, dynamic, retention) are the runtime's own
//! files (`shared`, a symlink to `runtime/src/shared`).

mod ast;
mod attr;
mod case;
mod check;
mod ctxt;
mod expand;
mod fallback;
// The runtime's files, of which the derive uses a part; their `pub` items
// are the runtime's public API.
#[allow(dead_code, unreachable_pub)]
mod shared;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

use crate::ast::{Container, Derive};
use crate::ctxt::Ctxt;

/// Makes a struct a record type: index template, time-partitioned index
/// names, registration, typed field handles. See the `esrecord` crate.
#[proc_macro_derive(Record, attributes(record))]
pub fn derive_record(input: TokenStream) -> TokenStream {
    derive(parse_macro_input!(input as DeriveInput), Derive::Record)
}

/// Makes a struct nestable in records, as an object or flattened into its
/// parent. See the `esrecord` crate.
#[proc_macro_derive(Composite, attributes(record))]
pub fn derive_composite(input: TokenStream) -> TokenStream {
    derive(parse_macro_input!(input as DeriveInput), Derive::Composite)
}

fn derive(input: DeriveInput, derive: Derive) -> TokenStream {
    let cx = Ctxt::default();
    let container = Container::from_ast(&cx, &input, derive);
    if let Some(container) = &container {
        check::check(&cx, container);
    }
    let expanded = match (cx.check(), &container) {
        (Ok(()), Some(container)) => expand::expand(container, derive),
        (Ok(()), None) => proc_macro2::TokenStream::new(),
        (Err(errors), container) => {
            let mut tokens = errors.to_compile_error();
            tokens.extend(fallback::expand(&input, container.as_ref(), derive));
            tokens
        }
    };
    expanded.into()
}
