"""Terminal output of a run: a progress bar while it works and a summary table at the end."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

    from mirror.publisher import RunReport

console = Console(stderr=True)


class RunProgress:
    """The publisher's progress callback, drawn with rich on stderr (silent when not a terminal)."""

    def __init__(self) -> None:
        # rich's progress and table modules load only when drawn: a run in CI (no terminal)
        # with nothing new shows one line.
        self._bar: Progress | None = None
        if console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=console, transient=True,
            )
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> RunProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, what: str, advance: int, total: int | None) -> None:
        if self._bar is None:
            return
        if what not in self._tasks:
            self._tasks[what] = self._bar.add_task(what, total=total)
        elif total is not None:
            self._bar.update(self._tasks[what], total=total)
        if advance:
            self._bar.advance(self._tasks[what], advance)


def print_report(report: RunReport, repo: Path) -> None:
    """The summary a user reads after a run: what was published, what failed, and the commit."""
    if report.published:
        _print_table("dry run: would publish" if report.dry_run else "published",
                     [("channel", "ellipsis"), ("title", "fold"), ("page", "fold")],
                     [(p.channel, p.title + (" (updated)" if p.updated else ""), p.path) for p in report.published])
    if report.failed:
        _print_table("failed", [("article or source", "fold"), ("reason", "fold")], report.failed, style="red")
    for w in report.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if report.push_error:
        console.print(f"[red]not pushed:[/] {report.push_error} (the commit is kept; the next run pushes it)",
                      highlight=False)
    parts = [f"{len(report.published)} published", f"{len(report.failed)} failed", f"{report.unchanged} unchanged"]
    if report.removed:
        parts.append(f"{report.removed} retired")
    if report.dry_run:
        tail = "dry run: nothing written"
    elif report.commit:
        tail = f"commit {report.commit[:10]} in {repo}" + (" (pushed)" if report.pushed else "")
    elif report.pushed:
        tail = f"nothing new to commit; pushed earlier commits from {repo}"
    else:
        tail = "nothing to commit"
    console.print(", ".join(parts) + "; " + tail, highlight=False)


def _print_table(title: str, columns: list[tuple[str, str]], rows: list[tuple[str, ...]], style: str = "none") -> None:
    from rich.table import Table  # only a run that published or failed draws one

    table = Table(title=title, title_justify="left", style=style)
    for name, overflow in columns:
        table.add_column(name, overflow=overflow)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*row)
    console.print(table)
