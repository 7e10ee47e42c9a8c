"""How the docs tests read Markdown: the markers, the blocks and the ibs commands in them."""

from __future__ import annotations

import shlex

from hypothesis import given
from hypothesis import strategies as st

from tests.docs.markdown import blocks, ibs_commands

WORD = st.text(alphabet="abcxyz-_=./0123456789 '\"$", min_size=1, max_size=12)
SEPARATOR = st.sampled_from([" && ", " || ", "; ", " | ", " &\n", "\n", " \\\n  && "])


@given(st.lists(st.lists(WORD, max_size=4), min_size=1, max_size=4), st.data())
def test_every_ibs_command_is_found_with_its_arguments(argvs, data) -> None:
    script = ""
    for argv in argvs:
        line = shlex.join(["ibs", *argv])
        if data.draw(st.booleans()):
            line += "   # a comment with ibs in it && more"
            script += line + "\n"
        else:
            script += line + data.draw(SEPARATOR)
        script += "echo between | tr a b" + data.draw(SEPARATOR)
    assert ibs_commands(script) == argvs


def test_a_quotation_over_two_lines_is_one_command() -> None:
    script = "curl -d '{\"a\":\n 1}' x\nibs run --seed 1\n.venv/bin/ibs demo\n"
    assert ibs_commands(script) == [["run", "--seed", "1"], ["demo"]]


def test_markers_apply_to_the_next_block_only(tmp_path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text("<!-- docs-test: parse-only; needs a hub -->\n\n```sh\nibs a\n```\n\n"
                   "```sh\nibs b\n```\n<!-- docs-test: skip -->\n```toml\nx = 1\n```\n")
    found = [(b.line, b.lang, b.mode, b.why, b.text) for b in blocks(doc)]
    assert found == [(3, "sh", "parse-only", "needs a hub", "ibs a\n"),
                     (7, "sh", "run", "", "ibs b\n"),
                     (11, "toml", "skip", "", "x = 1\n")]
