"""Image localisation: copy a body's images into the repo, content-addressed, and point at the copies."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import os
import posixpath
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import lxml.html

from mirror.converter.images import best_image_src
from mirror.model import SourceProfile

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# The profile's default, read from the dataclass field (a slotted class hides it from the class).
DEFAULT_TYPES: tuple[str, ...] = next(
    f.default for f in dataclasses.fields(SourceProfile) if f.name == "image_types"
)

# Type -> file extension; the type comes only from the bytes (see `sniff_image`).
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
}

@dataclass(slots=True)
class ImageReport:
    """What `ImageStore.localize` did: images copied into the repo and images left as they were."""

    localized: list[tuple[str, str]] = field(default_factory=list)  # (image URL, repo path)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (image URL, why it was not copied)
    written: list[str] = field(default_factory=list)  # repo paths of files created by this call


def sniff_image(data: bytes) -> str | None:
    """The image type of `data` from its magic numbers (JPEG, PNG, GIF, WebP, AVIF), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        # ISO-BMFF: the major brand, then compatible brands up to the end of the ftyp box.
        size = int.from_bytes(data[:4], "big")
        brands = [data[8:12]] + [data[i : i + 4] for i in range(16, min(size, 64, len(data)) - 3, 4)]
        if b"avif" in brands or b"avis" in brands:
            return "image/avif"
    return None


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in data[:4096].lower()


def _content_of(result: Any) -> bytes:
    """The bytes of whatever `fetch` returned: bytes, or an object with `.content` (Fetched, Response)."""
    status = getattr(result, "status", None)
    if status is None:
        status = getattr(result, "status_code", None)
    if isinstance(status, int) and not 200 <= status < 300:
        raise ValueError(f"HTTP {status}")
    content = result if isinstance(result, bytes | bytearray | memoryview) else getattr(result, "content", None)
    if not isinstance(content, bytes | bytearray | memoryview):
        raise TypeError(f"fetch returned {type(result).__name__}, not bytes")
    return bytes(content)


def _is_http(url: str | None) -> bool:
    return bool(url) and url.strip().lower().startswith(("http://", "https://"))  # type: ignore[union-attr]


def _image_url(img: lxml.html.HtmlElement) -> str | None:
    """The absolute URL an <img> really shows (the converter's choice), or None if there is none.

    That may be a `data:` URL, which the converter returns only for a real
    raster image: it is decoded here rather than downloaded.
    """
    url = best_image_src(img)
    if url and url.startswith("data:"):
        return url
    return url.strip() if _is_http(url) else None


def _data_bytes(url: str) -> bytes:
    """The payload of a base64 `data:` URL (checked by the converter's `data_image`)."""
    return base64.b64decode(url.partition(",")[2], validate=True)


def _shown(url: str) -> str:
    """A URL as reports show it: a data: URL by its type, not its megabytes."""
    return url.partition(",")[0] + ",…" if url.startswith("data:") else url


def _picture_of(img: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    # libxml2 does not know <source> is void and nests the <img> inside it.
    parent = img.getparent()
    if parent is not None and parent.tag == "source":
        parent = parent.getparent()
    return parent if parent is not None and parent.tag == "picture" else None


class ImageStore:
    """Copies images into `<repo>/<assets_dir>/<ab>/<sha256>.<ext>`, each download once per run."""

    def __init__(
        self,
        repo_root: Path,
        fetch: Callable[[str], Any],
        assets_dir: str = "assets",
        max_bytes: int = DEFAULT_MAX_BYTES,
        types: tuple[str, ...] = DEFAULT_TYPES,
    ) -> None:
        folder = PurePosixPath(assets_dir.replace("\\", "/"))
        if folder.is_absolute() or ".." in folder.parts or not folder.parts or folder == PurePosixPath("."):
            raise ValueError(f"assets_dir must be a folder inside the repo, got {assets_dir!r}")
        self.repo_root = Path(repo_root)
        self.fetch = fetch
        self.assets_dir = folder.as_posix()
        self.max_bytes = max_bytes
        self.types = tuple(t.lower() for t in types if t.lower() in EXTENSIONS)  # never SVG
        self._cache: dict[str, tuple[str | None, str]] = {}  # URL -> (repo path, failure reason)

    def store(self, url: str) -> tuple[str | None, str, bool]:
        """Download `url` (once per run) and keep it: (repo path or None, failure reason, newly written)."""
        if url in self._cache:
            path, reason = self._cache[url]
            return path, reason, False
        written = False
        try:
            data = _data_bytes(url) if url.startswith("data:") else _content_of(self.fetch(url))
            path, written = self._keep(data)
            reason = ""
        except Exception as error:  # any failure of an untrusted download only skips this image
            path, reason = None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        self._cache[url] = (path, reason)
        return path, reason, written

    def _keep(self, data: bytes) -> tuple[str, bool]:
        if len(data) > self.max_bytes:
            raise ValueError(f"too large: {len(data)} bytes > {self.max_bytes}")
        kind = sniff_image(data)
        if kind is None:
            raise ValueError("SVG refused" if _looks_like_svg(data) else "not a recognised image")
        if kind not in self.types:
            raise ValueError(f"type {kind} not allowed")
        digest = hashlib.sha256(data).hexdigest()
        # Built only from the hash: nothing in the URL or headers can steer where it lands.
        repo_path = f"{self.assets_dir}/{digest[:2]}/{digest}.{EXTENSIONS[kind]}"
        return repo_path, self._write(repo_path, data)

    def _write(self, repo_path: str, data: bytes) -> bool:
        root = self.repo_root.resolve()
        target = root / repo_path
        target.parent.mkdir(parents=True, exist_ok=True)
        # A symlinked assets folder must not lead the write out of the repo.
        if not target.parent.resolve().is_relative_to(root):
            raise ValueError(f"{repo_path} resolves outside the repo")
        if target.exists():
            return False
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return True

    def link(self, repo_path: str, page_dir: str, asset_url: str | None = None) -> str:
        """How a page in `page_dir` refers to `repo_path`: relative, or through the `asset_url` template."""
        if asset_url:
            if "{path}" in asset_url:
                return asset_url.replace("{path}", repo_path)
            return asset_url.rstrip("/") + "/" + repo_path
        folder = PurePosixPath(page_dir.replace("\\", "/").strip("/") or ".")
        return posixpath.relpath(repo_path, folder.as_posix())

    def localize(
        self, root: lxml.html.HtmlElement, page_dir: str, asset_url: str | None = None
    ) -> ImageReport:
        """Copy the images of an article body into the repo and point them at the copies.

        `page_dir` is the page's folder relative to the repo root (e.g. "pages/world/2026-11");
        links are written relative to it, or as `asset_url` with `{path}` replaced by the
        repo path when a CDN template is given. An image that cannot be copied keeps its URL
        and is reported in `failed`.
        """
        if PurePosixPath(page_dir.replace("\\", "/")).is_absolute():
            raise ValueError(f"page_dir must be relative to the repo root, got {page_dir!r}")
        report = ImageReport()
        seen: set[str] = set()

        def copy(url: str) -> str | None:
            """Store one image and record it in the report once; the link to write, or None."""
            path, reason, written = self.store(url)
            if url not in seen:
                seen.add(url)
                if path is None:
                    report.failed.append((_shown(url), reason))
                else:
                    report.localized.append((_shown(url), path))
            if written and path is not None:
                report.written.append(path)
            return None if path is None else self.link(path, page_dir, asset_url)

        for img in [el for el in root.iter("img") if isinstance(el.tag, str)]:
            url = _image_url(img)
            if url is None:
                continue
            link = copy(url)
            if link is None:
                if not _is_http(img.get("src")):
                    img.set("src", url)  # the lazy URL at least shows the original
                continue
            img.set("src", link)
            for name in list(img.attrib):
                if name in ("srcset", "sizes") or name.startswith("data-"):
                    del img.attrib[name]
            picture = _picture_of(img)
            if picture is not None:
                # The other renditions still point at the source site; unwrap, since
                # libxml2 may have nested the <img> inside a <source>.
                for source in list(picture.iter("source")):
                    source.drop_tag()
        for video in [el for el in root.iter("video") if _is_http(el.get("poster"))]:
            link = copy(video.get("poster").strip())
            if link is not None:
                video.set("poster", link)
        return report


__all__ = ["ImageReport", "ImageStore", "sniff_image"]
