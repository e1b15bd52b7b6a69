"""The `mirror` command line: thin commands over the library's functions."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from mirror import __version__

DEFAULT_CONFIG = Path("config/mirror.toml")
EXIT_FAILED = 1  # some articles failed; the rest were published
EXIT_USAGE = 2  # usage or config error (click uses 2 for usage errors too)


class ConfigProblem(click.ClickException):
    exit_code = EXIT_USAGE


def _load(config: Path):  # type: ignore[no-untyped-def]
    from mirror.config import ConfigError, load_config

    try:
        loaded = load_config(config)
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    return loaded


config_option = click.option(
    "-c", "--config", "config_path", type=click.Path(path_type=Path), default=DEFAULT_CONFIG,
    show_default=True, help="The TOML config file.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="mirror")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, for debugging.")
def cli(verbose: bool) -> None:
    """Republish web articles as Markdown pages in a git repository.

    \b
    Typical use:
      mirror init my-mirror          scaffold a mirror repo with config and CI workflow
      mirror publish                 publish what is new (config/mirror.toml), commit
      mirror publish --push          ... and push to the configured remote
      mirror convert ARTICLE.html    print one article as a Markdown page
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@cli.command()
@config_option
@click.option("-s", "--source", "sources", multiple=True, metavar="NAME",
              help="Only this source (repeatable). Default: all sources.")
@click.option("--url", "urls", multiple=True, metavar="URL",
              help="Publish this article URL (repeatable), with the first --source's settings, even if already published.")
@click.option("--push/--no-push", default=None,
              help="Push after committing. Default: push when [publisher] remote is set.")
@click.option("-n", "--dry-run", is_flag=True, help="Fetch and convert, but write and commit nothing.")
@click.option("--limit", type=click.IntRange(min=1), help="Publish at most N new articles.")
def publish(config_path: Path, sources: tuple[str, ...], urls: tuple[str, ...], push: bool | None,
            dry_run: bool, limit: int | None) -> None:
    """Publish new articles of every source into the mirror repo, in one commit.

    Exit status: 0 done (or nothing new), 1 some articles failed (the rest were
    published), 2 usage or config error, 3 repo busy (another run holds its lock)
    or the push failed (the commit is kept and pushed by the next run).
    """
    from mirror.publisher import Publisher
    from mirror.ui import RunProgress, print_report

    config = _load(config_path)
    if urls and not sources and len(config.sources) > 1:
        raise click.UsageError("--url needs --source NAME to say which source's settings apply")
    try:
        names = [config.source(s).name for s in sources]
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    from mirror.gitrepo import GitError
    from mirror.publisher import EXIT_NOT_PUSHED

    try:
        with RunProgress() as progress:
            report = Publisher(config, progress=progress).publish(
                sources=names, urls=urls, push=push, dry_run=dry_run, limit=limit
            )
    except GitError as exc:  # another run holds the repo, or git itself failed: nothing was committed
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_NOT_PUSHED)
    print_report(report, config.publisher.repo)
    sys.exit(report.exit_code)


@cli.command()
@click.argument("source", metavar="FILE_OR_URL")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=None,
              help=f"Config whose nav, language and source settings apply (default: {DEFAULT_CONFIG} if present).")
@click.option("-s", "--source", "source_name", metavar="NAME", help="Use this source's extraction settings.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the page here (and its QR code next to it) instead of stdout.")
@click.option("--body-only", is_flag=True, help="Print only the article body as Markdown.")
@click.option("--base-url", help="Resolve a file's relative links against this URL.")
def convert(source: str, config_path: Path | None, source_name: str | None, output: Path | None,
            body_only: bool, base_url: str | None) -> None:
    """Convert one article (a local HTML file, or an http(s) URL) to a Markdown page. No git."""
    from mirror.single import convert_one

    config = None
    if config_path is not None or DEFAULT_CONFIG.exists():
        config = _load(config_path or DEFAULT_CONFIG)
    try:
        text, png = convert_one(source, config=config, source_name=source_name, body_only=body_only,
                                base_url=base_url)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    if png is not None:
        Path(str(output) + ".png").write_bytes(png)
    click.echo(f"wrote {output}", err=True)


@cli.command()
@config_option
def index(config_path: Path) -> None:
    """Rebuild the channel indexes and README from the manifest, and commit if they changed."""
    from mirror.publisher import Publisher

    config = _load(config_path)
    report = Publisher(config).reindex()
    click.echo(f"committed {report.commit[:10]}" if report.commit else "indexes up to date")


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--repo-url", default="", help="Public URL preset of the mirror repo, e.g. github:OWNER/REPO.")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def init(directory: Path, repo_url: str, force: bool) -> None:
    """Scaffold a mirror repo in DIRECTORY: config, templates and a scheduled CI workflow."""
    from mirror.scaffold import scaffold

    try:
        written = scaffold(directory, repo_url=repo_url, force=force)
    except FileExistsError as exc:
        raise click.ClickException(f"{exc.filename} exists (use --force to overwrite)") from None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"Next: edit {directory / 'mirror.toml'}, then run `mirror publish -c {directory / 'mirror.toml'}`.")


@cli.command()
@config_option
def check(config_path: Path) -> None:
    """Verify the mirror repo: links resolve, QR codes match, manifest and files agree, no active content.

    Exit status: 0 clean, 1 problems found (listed), 2 usage or config error.
    """
    from mirror.check import check_repo, format_report

    settings = _load(config_path).publisher
    if not settings.repo.is_dir():
        raise ConfigProblem(f"{settings.repo}: no mirror repo there (run `mirror publish` first)")
    report = check_repo(settings.repo, page_url=settings.page_url, asset_url=settings.asset_url,
                        indexes_dir=settings.indexes_dir, pages_dir=settings.pages_dir)
    click.echo(format_report(report))
    sys.exit(0 if report.ok else EXIT_FAILED)


def main() -> None:
    cli(prog_name="mirror")
