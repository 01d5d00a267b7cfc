//! Compile-fail tests for `#[derive(Record)]` and `#[derive(Composite)]`:
//! each file in `cases/` must fail to build with the errors in its `.stderr`.
//! Regenerate the expected output with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    // trybuild runs in the package directory, so the glob is relative to
    // this crate's manifest.
    trybuild::TestCases::new().compile_fail("cases/*.rs");
}
