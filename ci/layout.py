#!/usr/bin/env python3
"""The house rules of taskstore's layout, read off CMake's own dependency graph.

    python3 ci/layout.py check   [SOURCE_DIR]           # exit 1 on a broken rule
    python3 ci/layout.py picture [SOURCE_DIR] OUT.dot   # folders as boxes (docs/layout.dot)

Both configure SOURCE_DIR (default: this checkout) into a temporary build directory with
`cmake --graphviz`, so they see the targets and links CMake itself resolves.

The rules (docs/layout.md says why):
  1. the kit (taskstore::conformance) and the suites (taskstore::*_suite) never link a
     concrete backend, nor libpq, sqlite3 or zlib;
  2. no backend library includes a header of the conformance kit: only each backend's
     conformance/ folder (its hook) may;
  3. public headers (include/taskstore/) never include internal ones (taskstore/internal/);
  4. nothing outside backends/ links taskstore::backend_internal, except the benchmarks and
     fuzzers that reach into a backend's own files.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ("memory", "file", "sqlite", "postgres")
CONCRETE = {"taskstore_" + b for b in BACKENDS} | {
    "PostgreSQL::PostgreSQL", "SQLite::SQLite3", "ZLIB::ZLIB"}
KIT_AND_SUITES = {"taskstore_conformance"} | {
    "taskstore_%s_suite" % f for f in ("examples", "concurrency", "crash", "property")}


def configure_graph(source):
    """The text of `cmake --graphviz` for a fresh configure of `source`."""
    with tempfile.TemporaryDirectory(prefix="taskstore-layout-") as build:
        dot = os.path.join(build, "graph.dot")
        subprocess.run(
            ["cmake", "-S", source, "-B", build, "-G", "Ninja", "-DTASKSTORE_BUILD_BENCH=ON",
             "-DTASKSTORE_BUILD_TESTS=ON", "--graphviz=" + dot],
            check=True, stdout=subprocess.DEVNULL)
        with open(dot) as f:
            return f.read()


def parse_graph(text):
    """(target -> CMake's shape for its kind, {(depender, dependee): style}) of a graph."""
    # A label is the target's name, then "\n(alias)" when it has one.
    shapes = {}
    names = {}
    for node, label, shape in re.findall(
            r'"(node\d+)" \[ label = "([^"]+)", shape = (\w+)', text):
        names[node] = label.split("\\n")[0]
        shapes[names[node]] = shape
    links = {}
    for a, b, rest in re.findall(r'"(node\d+)" -> "(node\d+)"([^\n]*)', text):
        style = re.search(r"style = (\w+)", rest)
        links[(names[a], names[b])] = style.group(1) if style else "solid"
    return shapes, links


def dependency_graph(source):
    """Target names and edges (depender -> dependee) of a fresh configure of `source`."""
    shapes, links = parse_graph(configure_graph(source))
    return set(shapes), set(links)


def reachable(start, edges):
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for a, b in edges:
            if a == node and b not in seen:
                seen.add(b)
                todo.append(b)
    return seen


def sources(root, *folders):
    for folder in folders:
        for dirpath, _, files in os.walk(os.path.join(root, folder)):
            for name in files:
                if name.endswith((".cpp", ".hpp")):
                    yield os.path.join(dirpath, name)


def includes(path):
    with open(path, encoding="utf-8") as f:
        return re.findall(r'^\s*#\s*include\s+"([^"]+)"', f.read(), re.M)


def check(source):
    problems = []
    _, edges = dependency_graph(source)
    for target in sorted(KIT_AND_SUITES):
        bad = reachable(target, edges) & CONCRETE
        if bad:
            problems.append("%s links %s (rule 1: the kit and suites name no backend)"
                            % (target, ", ".join(sorted(bad))))
    backend_folders = ["backends/%s/src" % b for b in BACKENDS] + ["backends/internal"]
    for path in sources(source, *backend_folders):
        for inc in includes(path):
            if inc.startswith("taskstore/conformance/"):
                problems.append("%s includes %s (rule 2: only backends/<b>/conformance/ "
                                "may use the kit)" % (os.path.relpath(path, source), inc))
    for path in sources(source, "include/taskstore"):
        for inc in includes(path):
            if inc.startswith("taskstore/internal/"):
                problems.append("%s includes %s (rule 3: public headers never include "
                                "internal ones)" % (os.path.relpath(path, source), inc))
    allowed = re.compile(r"^(taskstore_(memory|file|sqlite|postgres)|\w+_backend_tests|"
                         r"taskstore-bench|fuzz_\w+|taskstore_backend_internal)$")
    for a, b in sorted(edges):
        if b == "taskstore_backend_internal" and not allowed.match(a):
            problems.append("%s links taskstore_backend_internal (rule 4: backend machinery "
                            "stays in backends/)" % a)
    for p in problems:
        print("layout: " + p)
    print("layout: %s" % ("%d broken rules" % len(problems) if problems else "every rule holds"))
    return 1 if problems else 0


def target_folders(root):
    """target -> the folder of the CMakeLists.txt (or cmake/*.cmake) that defines it."""
    folders = {}
    define = re.compile(r"add_(?:library|executable)\(\s*([\w-]+)")
    for dirpath, dirs, files in os.walk(root):
        # Skip build trees and hidden folders (not just their CMakeLists.txt: build/ is big).
        dirs[:] = [d for d in dirs if d != "build" and not d.startswith(".")]
        rel = os.path.relpath(dirpath, root)
        scripts = [n for n in files if n == "CMakeLists.txt" or
                   (rel == "cmake" and n.endswith(".cmake"))]
        for name in sorted(scripts):
            with open(os.path.join(dirpath, name)) as f:
                for target in define.findall(f.read()):
                    folders.setdefault(target, rel)
    return folders


# What the picture shows of each of CMake's kinds of target (its --graphviz shapes).
KINDS = {"octagon": "", "hexagon": "OBJECT", "pentagon": "INTERFACE", "egg": "program"}


def picture(source, out):
    """Targets grouped by folder: a box per top folder (backends/, conformance/, ...), one
    inside it per second-level folder, deeper folders written under the target's name.
    Libraries and taskstore-conformance only (test programs, examples, fuzzers and the
    benchmark left out); an arrow is a link, dotted when it is PRIVATE."""
    shapes, links = parse_graph(configure_graph(source))
    folders = target_folders(source)
    libraries = {t for t in shapes if t.startswith("taskstore_") and t in folders
                 and "fuzz" not in t} | {"taskstore-conformance"}
    external = {"PostgreSQL::PostgreSQL", "SQLite::SQLite3", "ZLIB::ZLIB", "GTest::gtest",
                "rapidcheck", "Boost::headers"}
    shown_external = {b for (a, b) in links if a in libraries and b in external}
    lines = ["// Generated by `python3 ci/layout.py picture . docs/layout.dot`; render with",
             "// `dot -Tsvg docs/layout.dot -o docs/layout.svg`. Do not edit by hand.",
             "digraph taskstore {",
             '  rankdir=BT; newrank=true; nodesep=0.25; ranksep=0.45;',
             '  graph [fontname="Helvetica", fontsize=12, labeljust=l, labelloc=b];',
             '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica",'
             ' fontsize=10, margin="0.08,0.04"];',
             '  edge [arrowsize=0.6, color="#555555"];',
             '  label="taskstore: libraries by folder. An arrow is a link (dotted: PRIVATE). '
             'Test programs, examples, fuzzers and the benchmark are left out.";']
    # folder -> (top, second, rest): clusters for the first two levels.
    tree = {}
    for t in sorted(libraries):
        parts = folders[t].split("/")
        top, second = parts[0], "/".join(parts[1:2])
        rest = "/".join(parts[2:])
        tree.setdefault(top, {}).setdefault(second, []).append((t, rest))
    fills = {"backends": "#eef4fb", "conformance": "#f1f8ee", "queue": "#fbf3e9",
             "spec": "#f4f4f4", "cmake": "#f4f4f4"}

    def node(t, rest, indent):
        name = t.replace("taskstore_", "taskstore::", 1) if t.startswith("taskstore_") else t
        notes = [n for n in (KINDS.get(shapes.get(t, ""), ""), rest + "/" if rest else "") if n]
        label = name + ("\\n" + ", ".join(notes) if notes else "")
        return '%s"%s" [label="%s"];' % (indent, t, label)

    for i, top in enumerate(sorted(tree)):
        lines.append('  subgraph cluster_%d { label="%s/"; style="rounded,filled"; '
                     'fillcolor="%s"; color="#888888";' % (i, top, fills.get(top, "#f4f4f4")))
        for j, second in enumerate(sorted(tree[top])):
            members = tree[top][second]
            if not second:
                lines.extend(node(t, rest, "    ") for t, rest in members)
                continue
            lines.append('    subgraph cluster_%d_%d { label="%s/"; style="rounded,filled"; '
                         'fillcolor=white; color="#aaaaaa";' % (i, j, second))
            lines.extend(node(t, rest, "      ") for t, rest in members)
            lines.append("    }")
        lines.append("  }")
    # Outside libraries (Debian packages) float beside the targets that link them.
    for t in sorted(shown_external):
        lines.append('  "%s" [shape=ellipse, style=dashed, fontcolor="#555555"];' % t)
    for (a, b), style in sorted(links.items()):
        if a in libraries and (b in libraries or b in shown_external):
            dotted = " [style=dotted]" if style == "dotted" else ""
            lines.append('  "%s" -> "%s"%s;' % (a, b, dotted))
    lines.append("}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("layout: wrote %s" % out)
    return 0


def main(argv):
    if len(argv) < 2 or argv[1] not in ("check", "picture"):
        print(__doc__)
        return 2
    if argv[1] == "check":
        return check(os.path.abspath(argv[2]) if len(argv) > 2 else ROOT)
    source = os.path.abspath(argv[2]) if len(argv) > 3 else ROOT
    return picture(source, argv[-1])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
