"""Safe, portable paths inside the output repo and atomic, change-aware file writes."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["UnsafePath", "safe_join", "write_atomic", "MAX_NAME_BYTES"]

MAX_NAME_BYTES = 255  # the limit of ext4, APFS, NTFS (in UTF-16 units, but bytes is stricter)

# Names Windows reserves for devices, with or without an extension ("nul.md" is a device too).
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{dev}{n}" for dev in ("COM", "LPT") for n in "123456789\u00b9\u00b2\u00b3"]
)
# Characters NTFS and FAT refuse in a name; a checkout on Windows would fail on them.
_NOT_PORTABLE = frozenset('<>:"|?*')


class UnsafePath(ValueError):
    """A relative path that would escape its root or cannot be checked out everywhere."""


def _check_segment(segment: str, relpath: str) -> None:
    if segment == "":
        raise UnsafePath(f"{relpath!r}: empty path segment")
    if segment in (".", ".."):
        raise UnsafePath(f"{relpath!r}: '{segment}' segment")
    for ch in segment:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code < 0xA0:
            raise UnsafePath(f"{relpath!r}: control character U+{code:04X}")
        if ch in _NOT_PORTABLE:
            raise UnsafePath(
                f"{relpath!r}: character {ch!r} is not allowed in file names on Windows"
            )
    if segment[-1] in ". ":
        raise UnsafePath(f"{relpath!r}: name {segment!r} ends in a dot or a space")
    if segment.split(".", 1)[0].rstrip(" ").upper() in _RESERVED:
        raise UnsafePath(f"{relpath!r}: {segment!r} is a reserved device name on Windows")
    # git refuses to check out ".git" in any case spelling (and NTFS short name "git~1"); writing
    # there would let an article plant hooks or config in the repo.
    if segment.lower() in (".git", "git~1"):
        raise UnsafePath(f"{relpath!r}: {segment!r} is git's own folder")
    if len(segment.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise UnsafePath(f"{relpath!r}: name longer than {MAX_NAME_BYTES} bytes in UTF-8")


def safe_join(root: Path, relpath: str) -> Path:
    """Return `root / relpath`, or raise UnsafePath if it could escape `root` or is not portable.

    `relpath` uses "/" separators. Symlinks already inside `root` are followed, and a path
    that resolves outside `root` is refused as well.
    """
    if not isinstance(relpath, str):
        raise UnsafePath(f"{relpath!r}: not a string")
    if relpath == "":
        raise UnsafePath("empty path")
    if "\\" in relpath:
        raise UnsafePath(f"{relpath!r}: backslash in path")
    if "\x00" in relpath:
        raise UnsafePath(f"{relpath!r}: NUL character")
    if relpath.startswith("/") or (len(relpath) > 1 and relpath[1] == ":"):
        raise UnsafePath(f"{relpath!r}: absolute path")
    for segment in relpath.split("/"):
        _check_segment(segment, relpath)

    root = Path(root)
    joined = root.joinpath(*relpath.split("/"))
    real_root = root.resolve()
    real = joined.resolve(strict=False)
    if real != real_root and not real.is_relative_to(real_root):
        raise UnsafePath(f"{relpath!r}: resolves outside {root} (through a symlink)")
    return joined


def _same_content(path: Path, data: bytes) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    # A symlink is never "identical": replacing it with a regular file is the safe outcome.
    if not os.path.isfile(path) or os.path.islink(path) or st.st_size != len(data):
        return False
    with open(path, "rb") as f:
        return f.read() == data


def write_atomic(path: Path, data: bytes | str, *, durable: bool = True) -> bool:
    """Write `data` to `path` atomically; return False, touching nothing, if it is already there.

    Leaving identical files alone keeps their mtime, so a run with nothing new changes nothing
    on disk and git sees nothing. Readers never see a half-written file: the data goes to a
    temporary file in the same folder, is fsynced (when `durable`), then renamed over `path`.
    A killed process never leaves a half-written file either way; `durable=False` only gives
    up surviving a power cut, and saves two fsyncs per file on bulk writes whose content is
    committed to git (which has its own durability) right after.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if _same_content(path, data):
        return False
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        mode = os.stat(path).st_mode & 0o777 if path.is_file() else 0o666
    except OSError:
        mode = 0o666
    tmp = folder / f".{path.name[:200]}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never write through a file (or symlink) someone else placed at the temp name;
    # mode 0o666 lets the umask decide, as a plain open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_folder(folder)
    return True


def _fsync_folder(folder: Path) -> None:
    # The rename is durable only once the folder entry is on disk; some systems refuse
    # to open a folder for this, and losing it costs durability, not correctness.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
