//! No input crashes girder: `girder_core::Stack` and its generic builders driven with
//! arbitrary values — any stack, resource and type names, inputs, outputs exported twice,
//! `moved` declarations, resource options with any paths, dependencies, stack references,
//! handles from another stack. Building never panics (a panic fails the test: nothing is
//! caught), `Stack::finish` returns a graph or diagnostics whose errors each name the
//! resource (or are program-level), the field and the fix, and a graph plans in memory to a
//! plan or diagnostics — the same — against an empty or a non-empty state.

use std::time::Duration;

use girder_core::{NodeId, Output};
use girder_core::{ResourceDecl, Stack, StackReference, Timeouts, WithOptions};
use girder_testing::fuzz::{any_name, any_text, any_vec, assert_actionable};
use girder_testing::plan::TestProgram;
use girder_testing::sim::{SimId, SimResource};
use proptest::prelude::*;

/// One declared resource: its kind, name, inputs, options, and what it refers to.
#[derive(Clone, Debug)]
struct Decl {
    type_name: Option<String>,
    name: String,
    inputs: Vec<(String, String)>,
    parent: Option<usize>,
    ignore: Vec<String>,
    replace: Vec<String>,
    flags: (bool, bool, bool, bool),
    import: Option<String>,
    timeout: Option<u64>,
    depends_on: Option<usize>,
}

fn decl() -> impl Strategy<Value = Decl> {
    (
        (
            prop::option::of(prop_oneof![
                Just("sim:resource".to_owned()),
                Just("sim:other/kind".to_owned()),
                any_text()
            ]),
            any_name(),
            any_vec((any_text(), any_text()), 2),
            prop::option::of(0usize..4),
        ),
        (
            any_vec(any_text(), 2),
            any_vec(any_text(), 2),
            any::<(bool, bool, bool, bool)>(),
            prop::option::of(any_text()),
            prop::option::of(any::<u64>()),
            prop::option::of(0usize..4),
        ),
    )
        .prop_map(
            |(
                (type_name, name, inputs, parent),
                (ignore, replace, flags, import, timeout, depends_on),
            )| Decl {
                type_name,
                name,
                inputs,
                parent,
                ignore,
                replace,
                flags,
                import,
                timeout,
                depends_on,
            },
        )
}

/// Everything a program does with a stack besides declaring resources.
#[derive(Clone, Debug)]
struct Program {
    stack: String,
    decls: Vec<Decl>,
    exports: Vec<(String, Option<usize>)>,
    moved: Vec<(String, String)>,
    prefixes: Vec<(String, String)>,
    reference: Option<(String, Option<String>, String)>,
    foreign: bool,
}

fn program_input() -> impl Strategy<Value = Program> {
    (
        any_name(),
        any_vec(decl(), 4),
        any_vec((any_name(), prop::option::of(0usize..4)), 3),
        any_vec((any_name(), any_name()), 2),
        any_vec((any_text(), any_text()), 2),
        prop::option::of((any_text(), prop::option::of(any_text()), any_text())),
        any::<bool>(),
    )
        .prop_map(
            |(stack, decls, exports, moved, prefixes, reference, foreign)| Program {
                stack,
                decls,
                exports,
                moved,
                prefixes,
                reference,
                foreign,
            },
        )
}

fn build(program: &Program, s: &mut Stack) {
    let _ = s.name();
    let mut handles: Vec<(NodeId, Output<SimId>)> = Vec::new();
    for d in &program.decls {
        let handle = match &d.type_name {
            None => {
                let mut r = SimResource::new(d.name.clone());
                if let Some((_, parent)) = d.parent.and_then(|i| handles.get(i)) {
                    r = r.parent(parent);
                }
                for (key, value) in &d.inputs {
                    r = r.input(key.clone(), value.as_str());
                }
                let handle = r.add(s);
                (handle.node(), handle.id())
            }
            Some(type_name) => {
                let mut r = ResourceDecl::new(type_name.clone(), d.name.clone());
                for (key, value) in &d.inputs {
                    r = r.input(key.clone(), value.as_str());
                }
                r = r
                    .ignore_changes(d.ignore.clone())
                    .replace_on_changes(d.replace.clone());
                let (protect, before, retain, _) = d.flags;
                if protect {
                    r = r.protect();
                }
                if before {
                    r = r.delete_before_replace();
                }
                if retain {
                    r = r.retain_on_delete();
                }
                if let Some(import) = &d.import {
                    r = r.import(import.clone());
                }
                if let Some(ms) = d.timeout {
                    let limit = Some(Duration::from_millis(ms));
                    r = r.timeouts(Timeouts {
                        create: limit,
                        update: limit,
                        delete: limit,
                    });
                }
                if let Some((on, _)) = d.depends_on.and_then(|i| handles.get(i)) {
                    r = r.depends_on(*on);
                }
                let handle = r.add(s);
                (handle.node(), handle.output("id"))
            }
        };
        handles.push(handle);
    }
    if let Some((first, second)) = handles.first().zip(handles.last()) {
        s.add_dependency(first.0, second.0);
    }
    for (name, from) in &program.exports {
        match from.and_then(|i| handles.get(i)) {
            Some((_, id)) => s.export(name.clone(), id),
            None => s.export(name.clone(), girder_core::Value::from(name.as_str())),
        }
    }
    for (from, to) in &program.moved {
        s.moved(from.clone(), to.clone());
    }
    for (from, to) in &program.prefixes {
        s.moved_prefix(from.clone(), to.clone());
    }
    if let Some((stack, state, output)) = &program.reference {
        let mut reference = StackReference::new(stack.clone());
        if let Some(state) = state {
            reference = reference.state(state.clone());
        }
        let other = reference.add(s);
        let value: Output<String> = other.output(output);
        SimResource::new(format!("reads-{stack}"))
            .input("from", value)
            .add(s);
    }
    if program.foreign {
        // A handle of another stack used in this one.
        let mut elsewhere = Stack::new("elsewhere");
        let stray = SimResource::new("stray").add(&mut elsewhere);
        SimResource::new("uses-stray").parent(stray.id()).add(s);
        s.export("stray", stray.id());
    }
    let _ = (s.len(), s.is_empty(), s.diagnostics().len());
}

proptest! {
    #![proptest_config(girder_testing::fuzz::config(192))]

    /// Any program over the generic builders: a graph that plans (against an empty state and
    /// against the state of a first apply), or actionable diagnostics.
    #[test]
    fn stacks_never_panic(program in program_input()) {
        let test = TestProgram::new().stack(program.stack.clone());
        match test.build(|s| build(&program, s)) {
            Err(diagnostics) => {
                prop_assert!(diagnostics.has_errors(), "refused without an error: {diagnostics}");
                assert_actionable(&diagnostics)?;
            }
            Ok(graph) => {
                let _ = (graph.len(), graph.moved(), graph.moved_prefixes());
                match test.plan_graph(graph) {
                    Err(diagnostics) => {
                        prop_assert!(diagnostics.has_errors(), "plan refused without an error");
                        assert_actionable(&diagnostics)?;
                    }
                    Ok(plan) => {
                        let _ = plan.snapshot();
                    }
                }
            }
        }
    }
}
