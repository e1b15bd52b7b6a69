"""A pre-imported `mirror` that forks one real `mirror publish` process per request, so crash trials
do not pay Python's and the libraries' start-up (seconds) on every run.

Protocol (JSON lines on stdin/stdout): {"run": [args...], "cwd": dir, "out": file} -> {"pid": n};
{"wait": pid} -> {"pid": n, "status": exit code, or -signal}. Each child calls os.setsid(), so it
leads its own process group, and is the same CLI as `python -m mirror` (mirror.cli.main).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import mirror.cli
import mirror.publisher  # noqa: F401 - imported before forking: what the children share


def _child(args: list[str], cwd: str, out: str) -> None:
    os.setsid()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(cwd)
    sys.argv = ["mirror", *args]
    code = 0
    try:
        mirror.cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported like Python does, as exit status 1
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        if "run" in request:
            pid = os.fork()
            if pid == 0:
                _child(request["run"], request["cwd"], request["out"])
            answer = {"pid": pid}
        else:
            pid, status = os.waitpid(request["wait"], 0)
            answer = {"pid": pid, "status": os.waitstatus_to_exitcode(status)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


class Runner:
    """The test side: `with Runner() as r: pid = r.start(args, cwd, out); r.wait(pid)`."""

    def __init__(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), NO_COLOR="1", TERM="dumb")
        self.proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
            cwd=str(Path(__file__).resolve().parents[2]),
        )

    def _ask(self, request: dict) -> dict:  # type: ignore[type-arg]
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"crash runner died (exit {self.proc.wait()})")
        return json.loads(line)

    def start(self, args: list[str], cwd: Path, out: Path) -> int:
        return self._ask({"run": args, "cwd": str(cwd), "out": str(out)})["pid"]

    def wait(self, pid: int) -> int:
        return self._ask({"wait": pid})["status"]

    def run(self, args: list[str], cwd: Path, out: Path) -> tuple[int, float]:
        started = time.monotonic()
        status = self.wait(self.start(args, cwd, out))
        return status, time.monotonic() - started

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


if __name__ == "__main__":
    serve()
