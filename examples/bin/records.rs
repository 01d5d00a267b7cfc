//! The example application's operator binary: `types`, `setup`, `check`,
//! `indexes`, `search`, `plot`, `import` and `export` over the record types
//! of the application's library (`esrecord_examples`), which this program
//! only links.
//!
//! ```text
//! cargo run -p esrecord-examples --bin records -- types
//! ```

esrecord::main!(esrecord_examples);
