"""`mirror init`: scaffold a mirror repo with a config, overridable templates and a CI workflow."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

_HOSTS = {"github.com": "github", "gitlab.com": "gitlab", "codeberg.org": "codeberg"}


def page_url_setting(repo_url: str) -> str:
    """The `page_url` for a repo given as a preset, a template with {path}, or a plain repo URL."""
    if not repo_url:
        return "github:OWNER/REPO"
    if "{path}" in repo_url or not repo_url.startswith(("http://", "https://")):
        return repo_url
    parts = urlsplit(repo_url)
    owner_repo = parts.path.strip("/").removesuffix(".git")
    if parts.hostname in _HOSTS and owner_repo.count("/") == 1:
        return f"{_HOSTS[parts.hostname]}:{owner_repo}"
    raise ValueError(f"{repo_url}: give a preset (github:OWNER/REPO, gitlab:..., codeberg:..., "
                     "gitea:HOST/OWNER/REPO) or a URL template containing {path}")


def scaffold(directory: Path, *, repo_url: str = "", force: bool = False) -> list[Path]:
    """Write the starter files into `directory`; return their paths. Refuses to overwrite unless `force`."""
    templates = files("mirror") / "templates"
    wanted: dict[Path, str] = {
        directory / "mirror.toml": (templates / "init" / "mirror.toml").read_text("utf-8").format(
            page_url=page_url_setting(repo_url)),
        directory / ".github" / "workflows" / "mirror.yml": (templates / "init" / "workflow.yml")
        .read_text("utf-8").format(),
    }
    for name in ("page.md.j2", "index.md.j2", "readme.md.j2"):
        wanted[directory / "templates" / name] = (templates / name).read_text("utf-8")
    if not force:
        for path in wanted:
            if path.exists():
                raise FileExistsError(0, "exists", str(path))
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(wanted)
