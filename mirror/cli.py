"""The `mirror` command line: thin commands over the library's functions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mirror import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="mirror")
def cli() -> None:
    """Republish web articles as Markdown pages in a git repository."""


@cli.command()
@click.argument("source", metavar="FILE_OR_URL")
@click.option("--body-only", is_flag=True, help="Print only the article body as Markdown.")
@click.option("--base-url", help="Resolve relative links against this URL.")
def convert(source: str, body_only: bool, base_url: str | None) -> None:
    """Convert one article (a local HTML file, or a URL) to Markdown."""
    from mirror import html_to_markdown

    path = Path(source)
    if path.exists():
        html = path.read_bytes().decode("utf-8", "replace")
    else:
        raise click.UsageError(f"{source}: no such file")
    sys.stdout.write(html_to_markdown(html, base_url=base_url))


def main() -> None:
    cli()
