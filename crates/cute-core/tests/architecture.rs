//! The crate's modules stay free of import circles (docs/ARCHITECTURE.md shows the graph;
//! run with `--nocapture` to print it).

use cute_testkit::ModuleGraph;

#[test]
fn no_import_circles_among_the_modules() {
    let graph = ModuleGraph::scan(concat!(env!("CARGO_MANIFEST_DIR"), "/src")).expect("read src/");
    println!("{graph}");
    assert!(graph.modules().count() > 8, "the scan found the modules:\n{graph}");
    assert_eq!(graph.cycles(), Vec::<Vec<String>>::new(), "import circles in:\n{graph}");
}

#[test]
fn the_plumbing_names_nothing_above_it() {
    let graph = ModuleGraph::scan(concat!(env!("CARGO_MANIFEST_DIR"), "/src")).expect("read src/");
    // The timer heap knows timers through a trait; emitters know signals through a trait.
    for (module, forbidden) in [("timer_queue", "timer"), ("emitter", "signal"), ("dispatcher", "timer")] {
        assert!(!graph.named_by(module).any(|m| m == forbidden), "{module} names {forbidden}:\n{graph}");
    }
}
