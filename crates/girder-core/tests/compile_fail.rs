//! Typed wiring: mixing id types does not compile, and the error message says what to pass.

#[test]
fn mixing_id_types_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
