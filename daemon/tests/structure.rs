//! The shape of the agent's code, kept by test: no two modules reach each
//! other through chains of `crate::` paths (so each can be read and
//! changed from the bottom up), and no source file grows past 500 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 500;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src_files() -> (PathBuf, Vec<PathBuf>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    (src, files)
}

/// `crate::a::b`, `crate::{a, b::c}` → the top-level modules named, from
/// code only (comments stripped; unit tests may reach anywhere).
fn crate_refs(text: &str) -> BTreeSet<String> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let names = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end]
                .split(',')
                .map(|p| p.trim().split("::").next().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            vec![rest[..end].to_owned()]
        };
        out.extend(names.into_iter().filter(|n| !n.is_empty() && n != "self"));
    }
    out
}

#[test]
fn no_two_modules_of_the_agent_reach_each_other() {
    let (src, files) = src_files();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        let refs = crate_refs(&std::fs::read_to_string(f).expect("read"));
        graph
            .entry(top.clone())
            .or_default()
            .extend(refs.into_iter().filter(|r| *r != top));
    }
    assert!(graph.len() > 10, "found too few modules: {graph:?}");
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let mut cycles = Vec::new();
    for a in graph.keys() {
        for b in reach(a) {
            if a < &b && reach(&b).contains(a) {
                cycles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles: {cycles:?}\ngraph: {graph:#?}"
    );
}

#[test]
fn the_parser_sees_grouped_and_plain_paths() {
    let refs = crate_refs(
        "use crate::{server, transport::Peer};\nuse crate::state::Agent; // crate::nope\n",
    );
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["server", "state", "transport"]
    );
}

#[test]
fn no_source_file_of_the_agent_is_over_500_lines() {
    let (_, files) = src_files();
    let long: Vec<_> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).expect("read").lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by concern: {long:?}");
}
