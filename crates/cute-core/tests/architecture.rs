//! The crate's modules stay free of import circles (docs/ARCHITECTURE.md shows the graph;
//! run with `--nocapture` to print it).

use cute_testkit::ModuleGraph;

#[test]
fn no_import_circles_among_the_modules() {
    ModuleGraph::assert_acyclic(concat!(env!("CARGO_MANIFEST_DIR"), "/src"), 9);
}

#[test]
fn the_plumbing_names_nothing_above_it() {
    let graph = ModuleGraph::assert_acyclic(concat!(env!("CARGO_MANIFEST_DIR"), "/src"), 9);
    // The timer heap knows timers through a trait; emitters and connection handles know
    // signals through a trait; the binding graph knows properties through a trait.
    for (module, forbidden) in [
        ("timer_queue", "timer"),
        ("emitter", "signal"),
        ("dispatcher", "timer"),
        ("connection", "signal"),
        ("property_graph", "property"),
        ("property_graph", "signal"),
    ] {
        assert!(!graph.named_by(module).any(|m| m == forbidden), "{module} names {forbidden}:\n{graph}");
    }
}
