//! The crate's modules stay free of import circles (docs/ARCHITECTURE.md shows the graph;
//! run with `--nocapture` to print it).

use cute_testkit::ModuleGraph;

#[test]
fn no_import_circles_among_the_modules() {
    ModuleGraph::assert_acyclic(concat!(env!("CARGO_MANIFEST_DIR"), "/src"), 20);
}

#[test]
fn the_loop_side_and_the_worker_side_meet_only_in_the_bottom_modules() {
    let graph = ModuleGraph::assert_acyclic(concat!(env!("CARGO_MANIFEST_DIR"), "/src"), 20);
    // Replies know nothing of the manager, workers nothing of replies or the manager.
    for (module, forbidden) in
        [("reply", "manager"), ("reply::api", "manager"), ("worker", "reply"), ("worker::http", "manager")]
    {
        assert!(!graph.named_by(module).any(|m| m == forbidden), "{module} names {forbidden}:\n{graph}");
    }
    for module in graph.modules().filter(|m| m.starts_with("worker") || m.starts_with("auth")) {
        for named in graph.named_by(module) {
            assert!(
                !["manager", "reply", "scheduler", "pool"].contains(&named),
                "{module} reaches up into {named}:\n{graph}"
            );
        }
    }
}
