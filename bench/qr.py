"""Benchmark: milliseconds per QR code PNG, mirror.qr beside qrcode's and segno's defaults."""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qrcode  # noqa: E402
import segno  # noqa: E402

from mirror.qr import qr_png  # noqa: E402


def urls(count: int, length: int) -> list[str]:
    """Distinct page-like URLs of about `length` characters."""
    base = "https://example.github.io/news-mirror/pages/world/2026-11/"
    return [f"{base}{i:010x}".ljust(length - 3, "x") + ".md" for i in range(count)]


def with_qrcode(data: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(data).save(out)
    return out.getvalue()


def with_segno(data: str) -> bytes:
    out = io.BytesIO()
    segno.make(data).save(out, kind="png")
    return out.getvalue()


CANDIDATES: dict[str, Callable[[str], bytes]] = {
    "mirror.qr.qr_png": qr_png,
    "qrcode.make().save()": with_qrcode,
    "segno.make().save(png)": with_segno,
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
    per_url: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    sizes: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, render in CANDIDATES.items():
            start = time.perf_counter()
            total = sum(len(render(d)) for d in data)
            per_url[name].append((time.perf_counter() - start) * 1000 / len(data))
            sizes[name] = total // len(data)
    print(
        f"{len(data)} URLs of {args.length} chars, {args.rounds} rounds, "
        f"Python {sys.version.split()[0]}, qrcode {qrcode_version()}, segno {segno.__version__}"
    )
    print(f"{'tool':<24}{'best ms':>9}{'median ms':>11}{'bytes/PNG':>11}")
    for name, times in per_url.items():
        print(f"{name:<24}{min(times):>9.2f}{statistics.median(times):>11.2f}{sizes[name]:>11}")


def qrcode_version() -> str:
    from importlib.metadata import version

    return version("qrcode")


if __name__ == "__main__":
    main()
