//! Typed wiring in the real DSL: programs that mix up ids, references and handles do not
//! compile, and the compiler's message says what to pass (snapshots in `ui/*.stderr`).

#[test]
fn wiring_mistakes_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
