"""docs/RELIABILITY.md cannot drift from the suite: every test it names exists, with the xfail mark its result says.

`python tests/test_reliability_doc.py` prints the node ids the doc lists, for
`python -m pytest -n 2 -q $(python tests/test_reliability_doc.py)`.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "RELIABILITY.md"
NODE = re.compile(r"`(tests/test_\w+\.py)::(\w+)`")
OWN = ("tests/test_crash.py", "tests/test_concurrency.py")  # every test of these must be in the doc


def rows() -> list[tuple[str, list[tuple[str, str]], str]]:
    """(scenario, [(file, test name)], result) for every table row that names a test."""
    found = []
    for line in DOC.read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and (ids := NODE.findall(cells[1])):
            found.append((cells[0], ids, cells[3]))
    return found


@cache
def marks_in(file: str) -> dict[str, str]:
    """Test functions of a file -> "all" (an xfail mark on the function), "some" (on some of its
    parametrised cases, `pytest.param(..., marks=...)`) or "" (none)."""
    tree = ast.parse((ROOT / file).read_text("utf-8"))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
            decorators = [ast.unparse(d) for d in node.decorator_list]
            found[node.name] = ("all" if any("xfail" in d for d in decorators)
                                else "some" if any("marks=" in d for d in decorators) else "")
    return found


def test_the_doc_has_a_table_of_scenarios():
    assert len(rows()) >= 40


def test_every_listed_test_exists():
    missing = [f"{file}::{name}" for _, ids, _ in rows() for file, name in ids
               if not (ROOT / file).exists() or name not in marks_in(file)]
    assert missing == [], f"docs/RELIABILITY.md names tests that do not exist: {missing}"


def test_results_agree_with_the_xfail_marks():
    """A row's result starts with "xfail" exactly when its tests are marked xfail, and mentions
    xfail when some of their cases are: when a fix lands and a mark goes, the doc must say so too."""
    wrong = []
    for scenario, ids, result in rows():
        marks = {marks_in(file).get(name, "") for file, name in ids if (ROOT / file).exists()}
        says = result.lower()
        if marks == {"all"}:
            ok = says.startswith("xfail")
        elif "all" in marks:
            ok = False  # one row, one verdict: put xfail tests in rows of their own
        else:
            ok = says.startswith("pass") and (("xfail" in says) == ("some" in marks))
        if not ok:
            wrong.append(f"{scenario!r}: result {result!r}, xfail marks {sorted(marks)}")
    assert wrong == [], "update the result column of docs/RELIABILITY.md:\n" + "\n".join(wrong)


def test_every_crash_and_concurrency_test_is_in_the_doc():
    listed = {(file, name) for _, ids, _ in rows() for file, name in ids}
    absent = [f"{file}::{name}" for file in OWN for name in marks_in(file) if (file, name) not in listed]
    assert absent == [], f"add these to docs/RELIABILITY.md: {absent}"


def node_ids() -> list[str]:
    return list(dict.fromkeys(f"{file}::{name}" for _, ids, _ in rows() for file, name in ids))


if __name__ == "__main__":
    sys.stdout.write("\n".join(node_ids()) + "\n")
