"""mirror: republish web articles as Markdown pages in a git repository."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mirror.converter import html_to_markdown
    from mirror.extract import extract_article

# The one place the version is written; pyproject.toml reads it from here (no metadata lookup at
# start-up, which costs a CI run's nothing-new pass more than its work).
__version__ = "0.1.0"

# The library's functions, loaded when first looked up (PEP 562): a run with nothing new never
# loads the converter, and `from mirror import html_to_markdown` pays the import there, not on
# the first conversion.
_LAZY = {
    "html_to_markdown": "mirror.converter",  # (html, base_url=None) -> GitHub-flavoured Markdown
    "extract_article": "mirror.extract",  # (html, url=None, rules=None, rewrite=None) -> Article
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mirror' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["__version__", "html_to_markdown", "extract_article"]
