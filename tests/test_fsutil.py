"""Paths from untrusted input stay inside the repo; writes are atomic and leave identical files alone."""

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirror.fsutil import UnsafePath, safe_join, write_atomic

HOSTILE = [
    "",
    "/etc/passwd",
    "//server/share",
    "C:/Windows/win.ini",
    "c:evil",
    "..",
    "../outside.md",
    "pages/../../outside.md",
    "pages/..",
    ".",
    "./pages/a.md",
    "pages\\a.md",
    "..\\..\\x",
    "pages/a\x00.md",
    "pages/a\n.md",
    "pages/a\r.md",
    "pages/\x1b[31m.md",
    "pages/a\x7f.md",
    "pages/a\x85.md",
    "pages//a.md",
    "pages/",
    "/",
    "CON",
    "pages/con.md",
    "pages/Nul.txt",
    "pages/aux",
    "prn.tar.gz/x.md",
    "pages/COM1.md",
    "pages/com9",
    "pages/LPT1.png",
    "pages/lpt9.md.png",
    "pages/COM\u00b9.md",
    "pages/a.",
    "pages/a ",
    "pages./a.md",
    "pages /a.md",
    "pages/" + "a" * 256,
    "pages/" + "\u00e9" * 128,  # 256 bytes in UTF-8
    "pages/a:b.md",
    "pages/a?.md",
    "pages/a*.md",
    "pages/a|b.md",
    'pages/a"b.md',
    "pages/<a>.md",
    ".git/hooks/post-commit",
    "pages/.GIT/config",
    "GIT~1/config",
]

SAFE = [
    "README.md",
    "pages/news/2026-01/abc123.md",
    "pages/news/2026-01/abc123.md.png",
    "assets/ab/" + "f" * 64 + ".jpg",
    ".mirror/manifest.jsonl",
    "indexes/\u65b0\u95fb.md",  # non-ASCII is portable
    "pages/" + "a" * 255,
    "pages/" + "\u00e9" * 127,  # 254 bytes
    "pages/console.md",  # only the exact device names are reserved
    "pages/com10.md",
    "pages/lpt.md",
    "pages/.hidden",
    "pages/a..b.md",
    "pages/.gitignore-like",
]


@pytest.mark.parametrize("relpath", HOSTILE)
def test_safe_join_refuses_hostile_paths(tmp_path, relpath):
    with pytest.raises(UnsafePath):
        safe_join(tmp_path, relpath)


@pytest.mark.parametrize("relpath", SAFE)
def test_safe_join_accepts_ordinary_paths(tmp_path, relpath):
    joined = safe_join(tmp_path, relpath)
    assert joined == tmp_path.joinpath(*relpath.split("/"))


def test_unsafe_path_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"\.\."):
        safe_join(tmp_path, "../x")


def test_safe_join_refuses_symlink_leading_outside(tmp_path):
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "pages").symlink_to(outside, target_is_directory=True)
    (root / "escape.md").symlink_to(outside / "file.md")
    with pytest.raises(UnsafePath, match="outside"):
        safe_join(root, "pages/news/a.md")
    with pytest.raises(UnsafePath, match="outside"):
        safe_join(root, "escape.md")


def test_safe_join_follows_symlink_that_stays_inside(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    assert safe_join(tmp_path, "alias/a.md") == tmp_path / "alias" / "a.md"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab./\\:\x00 \u00e9\nCONUL1~")), max_size=20))
def test_safe_join_never_leaves_root(tmp_path_factory, relpath):
    root = tmp_path_factory.getbasetemp() / "safe-join-root"
    root.mkdir(exist_ok=True)
    try:
        joined = safe_join(root, relpath)
    except UnsafePath:
        return
    assert joined.resolve().is_relative_to(root.resolve())
    assert joined != root
    assert ".." not in joined.relative_to(root).parts


def test_write_atomic_creates_folders_and_reports_a_write(tmp_path):
    target = tmp_path / "pages" / "news" / "a.md"
    assert write_atomic(target, "héllo\n") is True
    assert target.read_bytes() == "héllo\n".encode()
    assert write_atomic(target, b"bytes too") is True
    assert target.read_bytes() == b"bytes too"


def test_write_atomic_leaves_identical_file_untouched(tmp_path):
    target = tmp_path / "a.md"
    target.write_text("same\n")
    old = 1_600_000_000_000_000_000
    os.utime(target, ns=(old, old))
    inode = target.stat().st_ino
    assert write_atomic(target, "same\n") is False
    assert target.stat().st_mtime_ns == old
    assert target.stat().st_ino == inode
    # Same size, different bytes: must be written.
    assert write_atomic(target, "SAME\n") is True
    assert target.read_text() == "SAME\n"
    assert target.stat().st_mtime_ns != old


@pytest.mark.parametrize("durable", [True, False])
def test_write_atomic_leaves_no_temporary_files(tmp_path, durable):
    for i in range(20):
        assert write_atomic(tmp_path / f"{i}.md", f"page {i}", durable=durable)
        assert write_atomic(tmp_path / f"{i}.md", f"page {i} v2", durable=durable)
        assert not write_atomic(tmp_path / f"{i}.md", f"page {i} v2", durable=durable)
    assert sorted(os.listdir(tmp_path)) == sorted(f"{i}.md" for i in range(20))
    assert (tmp_path / "7.md").read_text() == "page 7 v2"


def test_write_atomic_cleans_up_when_the_rename_fails(tmp_path):
    target = tmp_path / "taken"
    (target / "child").mkdir(parents=True)  # a non-empty folder cannot be replaced by a file
    with pytest.raises(OSError):
        write_atomic(target, "x")
    assert sorted(os.listdir(tmp_path)) == ["taken"]


def test_write_atomic_replaces_a_symlink_instead_of_writing_through_it(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.md").symlink_to(outside)
    assert write_atomic(repo / "a.md", "secret") is True  # same bytes, but it is a link
    assert not (repo / "a.md").is_symlink()
    assert outside.read_text() == "secret"
    write_atomic(repo / "a.md", "page")
    assert outside.read_text() == "secret"


def test_write_atomic_keeps_the_file_mode(tmp_path):
    target = tmp_path / "run.sh"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.stat().st_mode & 0o777 == 0o640
    fresh = tmp_path / "fresh.md"
    write_atomic(fresh, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask


def test_write_atomic_accepts_str_path_like(tmp_path):
    assert write_atomic(Path(str(tmp_path / "x.md")), "x") is True
