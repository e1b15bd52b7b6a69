"""Benchmark: milliseconds per QR code PNG, mirror.qr beside qrcode's and segno's defaults."""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qrcode  # noqa: E402
import segno  # noqa: E402

from mirror import qr  # noqa: E402
from mirror.qr import qr_png, qr_rows  # noqa: E402


def urls(count: int, length: int) -> list[str]:
    """Distinct page-like URLs of `length` characters (at least 25)."""
    made = []
    for i in range(count):
        head = f"https://example.github.io/mirror/pages/{i:06x}"
        if length < len(head):
            head = f"https://s.example/{i:06x}"
        made.append((head + "/" + "p" * length)[: max(length, len(head))])
    return made


def with_qrcode(data: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(data).save(out)
    return out.getvalue()


def with_segno(data: str) -> bytes:
    out = io.BytesIO()
    segno.make(data).save(out, kind="png")
    return out.getvalue()


def segno_fixed_mask(data: str) -> bytes:
    """segno's whole encoder with the mask fixed (no mask choice, no PNG): what mirror.qr used
    to start from, and still falls back to."""
    return bytes(segno.make_qr(data, error="m", boost_error=False, mask=0).matrix[0])


def message_only(data: str) -> bytes:
    """The part of mirror.qr that segno does: the final message (data and error correction)."""
    found = qr._message(data)
    assert found is not None
    return bytes(found[1][:8])


def rows_only(data: str) -> bytes:
    """mirror.qr without the PNG: the message, placed and masked with the best mask."""
    return qr_rows(data)[0].encode()


CANDIDATES: dict[str, Callable[[str], bytes]] = {
    "mirror.qr.qr_png": qr_png,
    "qrcode.make().save()": with_qrcode,
    "segno.make().save(png)": with_segno,
    "segno.make_qr(mask=0)": segno_fixed_mask,
    # Where mirror.qr's time goes:
    "  segno's message steps": message_only,
    "  + placement, mask choice": rows_only,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200, help="URLs per round (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per tool (default 5)")
    parser.add_argument("--length", type=int, default=60, help="URL length (default 60)")
    args = parser.parse_args()
    data = urls(args.n, args.length)
    for render in CANDIDATES.values():
        render(data[0])  # warm caches and imports
    # Rounds alternate between the tools so that a noisy neighbour slows all alike.
    # Wall time, and CPU time of this process, which other busy processes on
    # the machine disturb less.
    wall: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    cpu: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    sizes: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, render in CANDIDATES.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            total = sum(len(render(d)) for d in data)
            wall[name].append((time.perf_counter() - start) * 1000 / len(data))
            cpu[name].append((time.process_time() - start_cpu) * 1000 / len(data))
            sizes[name] = total // len(data)
    print(
        f"{len(data)} URLs of {args.length} chars, {args.rounds} rounds, "
        f"Python {sys.version.split()[0]}, qrcode {qrcode_version()}, segno {segno.__version__}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'ms per PNG':<24}{'best':>8}{'median':>8}{'CPU best':>10}{'CPU med':>9}{'bytes':>7}")
    for name in CANDIDATES:
        size = f"{sizes[name]:>7}" if name == name.lstrip() else ""
        print(
            f"{name:<24}{min(wall[name]):>8.2f}{statistics.median(wall[name]):>8.2f}"
            f"{min(cpu[name]):>10.2f}{statistics.median(cpu[name]):>9.2f}{size}"
        )


def qrcode_version() -> str:
    from importlib.metadata import version

    return version("qrcode")


if __name__ == "__main__":
    main()
