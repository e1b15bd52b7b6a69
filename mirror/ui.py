"""Terminal output of a run: a progress bar while it works and a summary table at the end."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mirror.publisher import RunReport

console = Console(stderr=True)


class RunProgress:
    """The publisher's progress callback, drawn with rich on stderr (silent when not a terminal)."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True, disable=not console.is_terminal,
        )
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> RunProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, what: str, advance: int, total: int | None) -> None:
        if what not in self._tasks:
            self._tasks[what] = self._bar.add_task(what, total=total)
        elif total is not None:
            self._bar.update(self._tasks[what], total=total)
        if advance:
            self._bar.advance(self._tasks[what], advance)


def print_report(report: RunReport, repo: Path) -> None:
    """The summary a user reads after a run: what was published, what failed, and the commit."""
    if report.published:
        table = Table(title="dry run: would publish" if report.dry_run else "published", title_justify="left")
        table.add_column("channel")
        table.add_column("title", overflow="fold")
        table.add_column("page", overflow="fold")
        for p in report.published:
            table.add_row(p.channel, p.title + (" (updated)" if p.updated else ""), p.path)
        console.print(table)
    if report.failed:
        table = Table(title="failed", title_justify="left", style="red")
        table.add_column("article or source", overflow="fold")
        table.add_column("reason", overflow="fold")
        for what, why in report.failed:
            table.add_row(what, why)
        console.print(table)
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
