//! Model-based property test of bindings.
//!
//! A random graph of properties (plain values, sums, and branches that switch which
//! property they read) takes random steps: writes (to bound properties too, which removes
//! their bindings), new bindings, removed bindings, reads, and nested update groups. A
//! plain model recomputes every value from scratch after each step. Checked:
//!
//! - every read gives the model's value, inside slots too (no glitch);
//! - a watched property emits once when its value changed, with the new value, and never
//!   otherwise (outside groups; inside a group nothing is emitted until the end);
//! - no binding runs more than once per step.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use cute_core::{Property, PropertyUpdateGroup, WeakProperty};
use cute_testkit::Watchdog;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

/// Properties per program.
const NODES: usize = 12;

/// What a bound property computes, from properties with lower indices (raw indices are
/// taken modulo the property's own index, so the graph is acyclic by construction).
#[derive(Debug, Clone)]
enum Expr {
    Const(i64),
    Sum(Vec<usize>),
    /// `if cond is even { then } else { otherwise }`
    Pick(usize, usize, usize),
}

impl Expr {
    /// The expression for property `me`, with its indices made valid.
    fn fit(&self, me: usize) -> Expr {
        if me == 0 {
            return Expr::Const(1);
        }
        match self {
            Expr::Const(c) => Expr::Const(*c),
            Expr::Sum(ids) => Expr::Sum(ids.iter().map(|i| i % me).collect()),
            Expr::Pick(c, t, o) => Expr::Pick(c % me, t % me, o % me),
        }
    }

    fn eval(&self, values: &[i64]) -> i64 {
        match self {
            Expr::Const(c) => *c,
            Expr::Sum(ids) => ids.iter().map(|&i| values[i]).sum(),
            Expr::Pick(c, t, o) => values[if values[*c] % 2 == 0 { *t } else { *o }],
        }
    }
}

#[derive(Debug, Clone)]
enum Shape {
    Plain(i64),
    Bound(Expr),
}

#[derive(Debug, Clone)]
enum Step {
    Set(usize, i64),
    Bind(usize, Expr),
    Clear(usize),
    Read(usize),
    Begin,
    End,
}

#[derive(Debug, Clone)]
struct Program {
    shapes: Vec<Shape>,
    watched: Vec<bool>,
    /// Each step, and whether to check every value after it (else lazy bindings stay stale).
    steps: Vec<(Step, bool)>,
}

fn expr() -> impl Strategy<Value = Expr> {
    prop_oneof![
        1 => (0..3i64).prop_map(Expr::Const),
        3 => vec(any::<usize>(), 0..4).prop_map(Expr::Sum),
        3 => (any::<usize>(), any::<usize>(), any::<usize>()).prop_map(|(c, t, o)| Expr::Pick(c, t, o)),
    ]
}

fn program() -> impl Strategy<Value = Program> {
    let shape = prop_oneof![1 => (0..4i64).prop_map(Shape::Plain), 2 => expr().prop_map(Shape::Bound)];
    let step = prop_oneof![
        6 => (0..NODES, 0..4i64).prop_map(|(i, v)| Step::Set(i, v)),
        2 => (0..NODES, expr()).prop_map(|(i, e)| Step::Bind(i, e)),
        1 => (0..NODES).prop_map(Step::Clear),
        2 => (0..NODES).prop_map(Step::Read),
        1 => Just(Step::Begin),
        1 => Just(Step::End),
    ];
    (vec(shape, NODES), vec(any::<bool>(), NODES), vec((step, any::<bool>()), 1..40)).prop_map(
        |(shapes, watched, steps)| {
            let shapes = shapes
                .into_iter()
                .enumerate()
                .map(|(i, s)| match s {
                    Shape::Bound(e) => Shape::Bound(e.fit(i)),
                    plain => plain,
                })
                .collect();
            let steps = steps
                .into_iter()
                .map(|(s, check)| match s {
                    Step::Bind(i, e) => (Step::Bind(i, e.fit(i)), check),
                    other => (other, check),
                })
                .collect();
            Program { shapes, watched, steps }
        },
    )
}

/// Every value, recomputed from scratch.
fn model_values(shapes: &[Shape]) -> Vec<i64> {
    let mut values = Vec::with_capacity(shapes.len());
    for shape in shapes {
        let v = match shape {
            Shape::Plain(v) => *v,
            Shape::Bound(e) => e.eval(&values),
        };
        values.push(v);
    }
    values
}

/// The real binding for `expr` on property `me`.
fn binding(
    expr: &Expr,
    props: &[Property<i64>],
    runs: Rc<Vec<Cell<u32>>>,
    me: usize,
) -> impl FnMut() -> i64 + 'static {
    let expr = expr.clone();
    let props: Vec<Property<i64>> = props[..me].to_vec();
    move || {
        let r = &runs[me];
        r.set(r.get() + 1);
        match &expr {
            Expr::Const(c) => *c,
            Expr::Sum(ids) => ids.iter().map(|&i| props[i].get()).sum(),
            Expr::Pick(c, t, o) => props[if props[*c].get() % 2 == 0 { *t } else { *o }].get(),
        }
    }
}

fn run(program: &Program) -> Result<(), TestCaseError> {
    let shapes = Rc::new(RefCell::new(program.shapes.clone()));
    let runs: Rc<Vec<Cell<u32>>> = Rc::new((0..NODES).map(|_| Cell::new(0)).collect());
    let mut props: Vec<Property<i64>> = Vec::new();
    for (i, shape) in program.shapes.iter().enumerate() {
        props.push(match shape {
            Shape::Plain(v) => Property::new(*v),
            Shape::Bound(e) => Property::computed(binding(e, &props, runs.clone(), i)),
        });
    }
    let weak: Rc<Vec<WeakProperty<i64>>> = Rc::new(props.iter().map(Property::downgrade).collect());
    let emitted = Rc::new(RefCell::new(Vec::<(usize, i64)>::new()));
    let mut notified = model_values(&shapes.borrow());
    for i in (0..NODES).filter(|&i| program.watched[i]) {
        let (shapes, weak, emitted) = (shapes.clone(), weak.clone(), emitted.clone());
        props[i].changed().connect(move |v| {
            // Whatever a slot reads is the model's value: no glitch.
            let expected = model_values(&shapes.borrow());
            assert_eq!(*v, expected[i], "property {i} emitted a value the model does not have");
            for (j, p) in weak.iter().enumerate() {
                assert_eq!(p.upgrade().unwrap().get(), expected[j], "property {j} read in {i}'s slot");
            }
            emitted.borrow_mut().push((i, *v));
        });
    }

    let mut groups: Vec<PropertyUpdateGroup> = Vec::new();
    let steps = program.steps.iter().cloned().chain(std::iter::once((Step::End, true)));
    for (n, (step, check)) in steps.enumerate() {
        for r in runs.iter() {
            r.set(0);
        }
        emitted.borrow_mut().clear();
        let last = n == program.steps.len();
        match &step {
            Step::Set(i, v) => {
                shapes.borrow_mut()[*i] = Shape::Plain(*v);
                props[*i].set(*v);
            }
            Step::Bind(i, e) => {
                shapes.borrow_mut()[*i] = Shape::Bound(e.clone());
                props[*i].set_binding(binding(e, &props, runs.clone(), *i));
            }
            Step::Clear(i) => {
                let now = model_values(&shapes.borrow())[*i];
                shapes.borrow_mut()[*i] = Shape::Plain(now);
                props[*i].clear_binding();
            }
            Step::Read(i) => {
                prop_assert_eq!(props[*i].get(), model_values(&shapes.borrow())[*i]);
            }
            Step::Begin => groups.push(PropertyUpdateGroup::begin()),
            Step::End if last => groups.clear(),
            Step::End => drop(groups.pop()),
        }
        for (i, r) in runs.iter().enumerate() {
            prop_assert!(
                r.get() <= 1,
                "step {} ({:?}) ran property {}'s binding {} times",
                n,
                step,
                i,
                r.get()
            );
        }
        let expected = model_values(&shapes.borrow());
        let emitted = emitted.borrow();
        if groups.is_empty() {
            for i in (0..NODES).filter(|&i| program.watched[i]) {
                let mine: Vec<i64> = emitted.iter().filter(|e| e.0 == i).map(|e| e.1).collect();
                if expected[i] != notified[i] {
                    prop_assert_eq!(&mine, &[expected[i]], "step {} ({:?}): property {}", n, step, i);
                } else if matches!(step, Step::End) {
                    // Changed and changed back inside the group: one emission of the value.
                    prop_assert!(mine.len() <= 1, "step {} ({:?}): property {}: {:?}", n, step, i, mine);
                } else {
                    prop_assert!(mine.is_empty(), "step {} ({:?}): property {}: {:?}", n, step, i, mine);
                }
                notified[i] = expected[i];
            }
        } else {
            prop_assert!(emitted.is_empty(), "emitted inside a group: {:?}", emitted);
        }
        if check || last {
            for (i, p) in props.iter().enumerate() {
                prop_assert_eq!(p.get(), expected[i], "property {} after step {} ({:?})", i, n, step);
                prop_assert_eq!(p.has_binding(), matches!(shapes.borrow()[i], Shape::Bound(_)));
                prop_assert_eq!(p.binding_error(), None);
            }
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    let cases = std::env::var("CUTE_MODEL_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

#[test]
fn bindings_match_a_model_that_recomputes_everything() {
    let _dog = Watchdog::new(Duration::from_secs(300));
    let mut runner = TestRunner::new(config());
    let result = runner.run(&program(), |program| run(&program));
    if let Err(e) = result {
        panic!("{e}\n{runner}");
    }
}
