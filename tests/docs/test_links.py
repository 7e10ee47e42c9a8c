"""Every relative link in README.md and docs/*.md, and every Markdown file they name in prose,
is a file of the repository (issue 17, point 14: a REFERENCE.md that was not there)."""

from __future__ import annotations

import re

import pytest

from tests.docs.markdown import ROOT, documents, relative_links

# The project's documents are named in capitals (FORMAT.md, docs/SCALING.md); a report a command
# writes (report.md, bench-sim.md) is not one of them.
_NAMED_MD = re.compile(r"(?<![\w/.-])(?P<name>(?:[\w.-]+/)*[A-Z][A-Z0-9_]*\.md)\b")


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc) -> None:
    broken = []
    for line, target in relative_links(doc):
        path = target.split("#", 1)[0]
        if path and not (doc.parent / path).exists():
            broken.append(f"{doc.relative_to(ROOT)}:{line}: {target}")
    assert not broken, "links to nothing: " + ", ".join(broken)


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_files_named_in_prose_exist(doc) -> None:
    # A name is read from the document's folder, the repository's root or docs/.
    missing = []
    for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        for m in _NAMED_MD.finditer(line):
            name = m["name"]
            if not any((base / name).exists() for base in (doc.parent, ROOT, ROOT / "docs")):
                missing.append(f"{doc.relative_to(ROOT)}:{n}: {name}")
    assert not missing, "names of Markdown files that are not in the repository: " + ", ".join(missing)


def test_a_broken_link_is_found(tmp_path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text("see [the format](FORMAT.md#chunks) and [web](https://example.org) and\n"
                   "```\n[not a link](nowhere.md)\n```\n`[code](nope.md)` [top](#top)\n")
    assert relative_links(doc) == [(1, "FORMAT.md#chunks")]
