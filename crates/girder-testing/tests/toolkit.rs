//! The testing toolkit as users see it: queryable plans, assertions with readable failures,
//! mocked outputs, upgrade diffs, invariants over generated programs, snapshots.

use girder_core::{Output, Stack, interpolate, object};
use girder_engine::StepKind;
use girder_testing::mocked::{Verdict, check_invariants};
use girder_testing::plan::TestProgram;
use girder_testing::sim::SimResource;
use girder_testing::strategies::{k8s_name, scaling_range};
use proptest::prelude::*;

fn module(s: &mut Stack, replicas: u32) {
    let db = SimResource::new("db")
        .zone("a")
        .input("tags", object! { "team" => "data" })
        .add(s);
    let endpoint: Output<String> = db.output("endpoint");
    SimResource::new("app")
        .parent(db.id())
        .input("replicas", replicas)
        .input("url", interpolate!("postgres://{}/app", endpoint))
        .add(s);
}

#[test]
fn plans_are_queryable() {
    let plan = TestProgram::new().plan(|s| module(s, 2)).unwrap();
    assert_eq!(plan.count("sim:resource"), 2);
    assert_eq!(plan.count_steps(StepKind::Create), 2);
    assert_eq!(plan.with_tag("team", "data").len(), 1);
    let app = plan.assert_has("sim:resource", serde_json::json!({ "replicas": 2 }));
    assert_eq!(app.name(), "app");
    assert!(app.is_unknown("url") && app.is_unknown("parent"));
    assert_eq!(app.dependencies(), ["db".to_owned()]);
    plan.assert_none("has no zone", |r| {
        r.name() == "db" && r.input("zone").is_none()
    });
}

#[test]
#[should_panic(expected = "`app` differs at `replicas`: expected 3, found 2")]
fn a_failed_match_says_where_the_closest_candidate_differs() {
    let plan = TestProgram::new().plan(|s| module(s, 2)).unwrap();
    plan.assert_has("sim:resource", serde_json::json!({ "replicas": 3 }));
}

#[test]
#[should_panic(expected = "expected 3 `sim:resource`, found 2: db, app")]
fn a_failed_count_lists_what_was_found() {
    TestProgram::new()
        .plan(|s| module(s, 2))
        .unwrap()
        .assert_count("sim:resource", 3);
}

#[test]
#[should_panic(expected = "missing: Update app")]
fn a_failed_upgrade_assertion_lists_the_difference() {
    let upgrade = TestProgram::new()
        .upgrade(|s| module(s, 2), |s| module(s, 2))
        .unwrap();
    upgrade.assert_changes(&[("app", StepKind::Update)]);
}

#[test]
#[should_panic(expected = "expected: [(\"db\", \"orders-db\")]\n  planned: []")]
fn an_upgrade_that_forgets_its_move_fails_the_move_assertion() {
    let upgrade = TestProgram::new()
        .upgrade(
            |s| {
                SimResource::new("db").add(s);
            },
            |s| {
                SimResource::new("orders-db").add(s);
            },
        )
        .unwrap();
    upgrade.assert_moves(&[("db", "orders-db")]);
}

#[test]
fn mocked_outputs_flow_through_interpolation() {
    let deployed = TestProgram::new()
        .apply_mocked(
            |s| module(s, 2),
            |call| object! { "endpoint" => format!("{}.db.internal", call.identity.name) },
        )
        .unwrap();
    assert_eq!(
        deployed.input("app", "url").unwrap(),
        "postgres://db.db.internal/app".into()
    );
    assert_eq!(deployed.input("app", "parent").unwrap(), "mock-db".into());
    assert!(!deployed.replan().unwrap().plan().has_changes());
}

#[test]
fn upgrades_show_exactly_their_steps() {
    let upgrade = TestProgram::new()
        .upgrade(|s| module(s, 2), |s| module(s, 5))
        .unwrap();
    upgrade.assert_changes(&[("app", StepKind::Update)]);
}

#[test]
fn plans_snapshot_as_stable_text() {
    let plan = TestProgram::new().plan(|s| module(s, 2)).unwrap();
    insta::assert_snapshot!(plan.snapshot(), @r#"
    Plan: 2 to create, 0 to update, 0 to replace, 0 to delete

    create sim:resource app
      parent: (known after apply)
      replicas: 2
      url: (known after apply)

    create sim:resource db
      tags:
        team: "data"
      zone: "a"
    "#);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Any generated variant of the module satisfies the standard invariants; one with a
    /// negative latency is refused when planned, with a diagnostic naming `latency_ms`, and
    /// nothing else is.
    #[test]
    fn generated_programs_keep_the_invariants(name in k8s_name(), (min, max) in scaling_range(0..=5), latency in -2i64..3) {
        let verdict = check_invariants(&TestProgram::new(), |s| {
            let db = SimResource::new(format!("{name}-db")).input("latency_ms", latency).add(s);
            for i in min..=max {
                SimResource::new(format!("{name}-{i}")).parent(db.id()).add(s);
            }
        });
        match verdict {
            Ok(Verdict::Accepted { resources }) => {
                prop_assert!(latency >= 0, "latency {} was accepted", latency);
                prop_assert_eq!(resources as u32, max - min + 2);
            }
            Ok(Verdict::RefusedAtPlan(diagnostics)) => {
                prop_assert!(latency < 0, "latency {} was refused: {}", latency, diagnostics);
                prop_assert!(
                    diagnostics.errors().any(|d| d.field.as_deref() == Some("latency_ms")),
                    "{}", diagnostics
                );
            }
            Ok(Verdict::Rejected(diagnostics)) => {
                prop_assert!(false, "the program was rejected when built: {}", diagnostics);
            }
            Err(violation) => prop_assert!(false, "invariant violated: {}", violation),
        }
    }
}
