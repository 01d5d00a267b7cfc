//! Records in other tools' formats: Arrow record batches (the `arrow`
//! feature), for DataFrame libraries, and the CSV rows of the binary's
//! `export --format csv` and `import --format csv`.

#[cfg(feature = "arrow")]
pub mod arrow;
#[cfg(feature = "cli")]
pub(crate) mod csv;
