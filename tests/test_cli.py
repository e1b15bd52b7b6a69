"""The console script answers --help and --version as a user would call it."""

import subprocess
import sys

import mirror


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mirror", *args], capture_output=True, text=True)


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert mirror.__version__ in out.stdout


def test_help_lists_commands():
    out = run("--help")
    assert out.returncode == 0
    assert "convert" in out.stdout
