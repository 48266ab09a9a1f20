//! [`ModuleGraph`]: which modules of a crate name which others, so a test can keep the
//! crate free of import circles.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::Path;

/// The modules of a crate's `src/` and, for each, the modules of the same crate it names
/// (`use crate::…`, `use super::…`, and paths such as `crate::x::Y` in code). Comments and
/// `#[cfg(test)] mod tests` blocks at the end of a file are left out: a doc link or a unit
/// test is not a dependency.
///
/// It reads the files as text, which is enough for code formatted by rustfmt; it is a
/// guard for this workspace's layout, not a Rust parser.
///
/// # Examples
///
/// ```
/// let graph = cute_testkit::ModuleGraph::scan(concat!(env!("CARGO_MANIFEST_DIR"), "/src")).unwrap();
/// assert!(graph.modules().any(|m| m == "module_graph"));
/// assert_eq!(graph.cycles(), Vec::<Vec<String>>::new());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ModuleGraph {
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl ModuleGraph {
    /// Reads every `.rs` file below `src` (a crate's source root: `lib.rs` is the crate
    /// root, `a/mod.rs` and `a.rs` are module `a`, `a/b.rs` is `a::b`).
    ///
    /// # Errors
    ///
    /// The I/O error of a directory or file that cannot be read.
    pub fn scan(src: impl AsRef<Path>) -> io::Result<ModuleGraph> {
        let src = src.as_ref();
        let mut files = BTreeMap::new();
        collect(src, src, &mut files)?;
        let names: BTreeSet<String> = files.keys().cloned().collect();
        let mut edges = BTreeMap::new();
        for (module, text) in &files {
            let mut named = BTreeSet::new();
            for path in paths(&code_of(text)) {
                if let Some(target) = resolve(module, &path, &names)
                    && target != *module
                    && !target.is_empty()
                {
                    named.insert(target);
                }
            }
            edges.insert(module.clone(), named);
        }
        Ok(ModuleGraph { edges })
    }

    /// The modules found, the crate root as `""`.
    pub fn modules(&self) -> impl Iterator<Item = &str> {
        self.edges.keys().map(String::as_str)
    }

    /// The modules `module` names.
    pub fn named_by(&self, module: &str) -> impl Iterator<Item = &str> {
        self.edges.get(module).into_iter().flatten().map(String::as_str)
    }

    /// Every import circle, each as the path around it (first module repeated at the end).
    /// A module naming its own parent (`super::…` from `a::b` to `a`) counts: that is a
    /// circle through the parent's `mod` declaration only if the parent names the child
    /// back, which is what this finds.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        fn visit(
            graph: &ModuleGraph,
            module: &str,
            marks: &mut BTreeMap<String, Mark>,
            stack: &mut Vec<String>,
            found: &mut Vec<Vec<String>>,
        ) {
            marks.insert(module.to_owned(), Mark::Open);
            stack.push(module.to_owned());
            for next in graph.named_by(module) {
                match marks.get(next) {
                    Some(Mark::Open) => {
                        let start = stack.iter().position(|m| m == next).unwrap_or(0);
                        let mut cycle = stack[start..].to_vec();
                        cycle.push(next.to_owned());
                        found.push(cycle);
                    }
                    Some(Mark::Done) => {}
                    None => visit(graph, next, marks, stack, found),
                }
            }
            stack.pop();
            marks.insert(module.to_owned(), Mark::Done);
        }
        let mut marks = BTreeMap::new();
        let mut found = Vec::new();
        for module in self.edges.keys() {
            if !marks.contains_key(module) {
                visit(self, module, &mut marks, &mut Vec::new(), &mut found);
            }
        }
        found
    }
}

impl ModuleGraph {
    /// Scans `src` and panics, showing the graph, if it has an import circle or has fewer
    /// than `at_least` modules (a scan that found nothing proves nothing).
    ///
    /// # Panics
    ///
    /// On a circle, too few modules, or a `src` that cannot be read.
    pub fn assert_acyclic(src: impl AsRef<Path>, at_least: usize) -> ModuleGraph {
        let graph = ModuleGraph::scan(src).expect("read the crate's src/");
        println!("{graph}");
        assert!(graph.modules().count() >= at_least, "the scan found too few modules:\n{graph}");
        assert_eq!(graph.cycles(), Vec::<Vec<String>>::new(), "import circles in:\n{graph}");
        graph
    }
}

impl fmt::Display for ModuleGraph {
    /// One line per module: `module -> named, named`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (module, named) in &self.edges {
            let shown = if module.is_empty() { "(crate root)" } else { module };
            let named: Vec<&str> = named.iter().map(String::as_str).collect();
            writeln!(f, "{shown} -> {}", named.join(", "))?;
        }
        Ok(())
    }
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap_or(&path).with_extension("");
            let mut parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                parts.pop();
            }
            files.insert(parts.join("::"), std::fs::read_to_string(&path)?);
        }
    }
    Ok(())
}

/// The code of a file without comments and without its trailing unit-test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path a file names: the paths of its `use` items (groups expanded) and the
/// `crate::…`/`super::…` paths in its code.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = find_use(rest) {
        let item = &rest[at..];
        let end = item.find(';').unwrap_or(item.len());
        expand("", item[4..end].trim(), &mut out);
        rest = &item[end..];
    }
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(start) {
            let at = from + found;
            let before = code[..at].chars().next_back();
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                let tail: String = code[at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                out.push(tail.trim_end_matches(':').to_owned());
            }
            from = at + start.len();
        }
    }
    out
}

/// The next `use` item's start (`use ` at the start of a statement, after `pub`/`pub(crate)`).
fn find_use(code: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = code[from..].find("use ") {
        let at = from + found;
        let line_start = code[..at].rfind('\n').map_or(0, |n| n + 1);
        let before = code[line_start..at].trim();
        if before.is_empty() || before == "pub" || before.starts_with("pub(") {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into paths.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        out.push(format!("{prefix}{path}"));
        return;
    };
    let head = &tree[..open];
    let inner = tree[open + 1..].trim_end().strip_suffix('}').unwrap_or(&tree[open + 1..]);
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&format!("{prefix}{head}"), &inner[start..i], out);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !inner[start..].trim().is_empty() {
        expand(&format!("{prefix}{head}"), &inner[start..], out);
    }
}

/// The module of this crate that `path`, named in `module`, points into (the longest
/// prefix of it that is a module).
fn resolve(module: &str, path: &str, names: &BTreeSet<String>) -> Option<String> {
    let mut segments: Vec<&str> = if module.is_empty() { Vec::new() } else { module.split("::").collect() };
    let path = path.trim_start_matches("::");
    let rest: Vec<&str> = if let Some(tail) = path.strip_prefix("crate::") {
        segments.clear();
        tail.split("::").collect()
    } else if path == "crate" || path == "self" || path == "super" {
        return None;
    } else {
        let mut parts: Vec<&str> = path.split("::").collect();
        let mut supers = 0;
        while parts.first() == Some(&"super") {
            parts.remove(0);
            supers += 1;
        }
        if parts.first() == Some(&"self") {
            parts.remove(0);
        } else if supers == 0 {
            // A path relative to this module: only if its first segment is a child module.
            let child = segments.iter().chain(parts.first()).copied().collect::<Vec<_>>().join("::");
            if !names.contains(&child) {
                return None;
            }
        }
        for _ in 0..supers {
            segments.pop();
        }
        parts
    };
    let full: Vec<&str> = segments.into_iter().chain(rest.into_iter().filter(|s| !s.is_empty())).collect();
    (1..=full.len()).rev().map(|k| full[..k].join("::")).find(|candidate| names.contains(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn use_trees_expand() {
        let mut out = Vec::new();
        expand("", "crate::a::{b::C, d::{E, F as G}, self}", &mut out);
        assert_eq!(out, ["crate::a::b::C", "crate::a::d::E", "crate::a::d::F", "crate::a::self"]);
    }

    #[test]
    fn paths_resolve_to_the_longest_module_prefix() {
        let all = names(&["a", "a::b", "c"]);
        assert_eq!(resolve("c", "crate::a::b::Item", &all).as_deref(), Some("a::b"));
        assert_eq!(resolve("a::b", "super::Thing", &all).as_deref(), Some("a"));
        assert_eq!(resolve("a", "b::Thing", &all).as_deref(), Some("a::b"));
        assert_eq!(resolve("a", "std::fmt", &all), None);
        assert_eq!(resolve("a::b", "crate::a::self", &all).as_deref(), Some("a"));
    }

    #[test]
    fn comments_and_unit_tests_do_not_count() {
        let code = code_of("use crate::a; // see crate::b\n#[cfg(test)]\nmod tests { use crate::c; }");
        let found: BTreeSet<String> = paths(&code).into_iter().collect();
        assert_eq!(found, names(&["crate::a"]));
    }

    #[test]
    fn finds_a_circle() {
        let mut graph = ModuleGraph::default();
        graph.edges.insert("a".into(), names(&["b"]));
        graph.edges.insert("b".into(), names(&["c"]));
        graph.edges.insert("c".into(), names(&["a"]));
        graph.edges.insert("d".into(), names(&["a"]));
        assert_eq!(graph.cycles(), vec![vec!["a", "b", "c", "a"]]);
    }
}
