"""Localised images land in the repo once, content-addressed, and pages point at them."""

from __future__ import annotations

import base64
import io
import os
import random
import re
from pathlib import Path

import lxml.html
import pytest
import requests
from PIL import Image
from werkzeug import Response

from mirror.images import ImageStore, sniff_image

ASSET = re.compile(r"^assets/([0-9a-f]{2})/\1[0-9a-f]{62}\.(jpg|png|gif|webp|avif)$")


def picture(fmt: str, color: tuple[int, int, int], size: tuple[int, int] = (12, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: bigger than a small limit."""
    rng = random.Random(7)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).save(out, "PNG")
    return out.getvalue()


PNG = picture("PNG", (200, 30, 30))
JPEG = picture("JPEG", (30, 200, 30))
GIF = picture("GIF", (30, 30, 200))
WEBP = picture("WEBP", (90, 90, 20))
BIG = noise_png(80)
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
HOSTILE = picture("PNG", (1, 2, 3))


def fetch(url: str) -> requests.Response:
    return requests.get(url, timeout=5)


@pytest.fixture
def site(httpserver):
    """A loopback image server, some of whose answers lie or fail."""
    routes = {
        "/a.png": (PNG, "image/png"),
        "/same-bytes-elsewhere.jpg": (PNG, "image/jpeg"),  # header and name lie; bytes say PNG
        "/photo": (JPEG, "image/png"),
        "/anim.gif": (GIF, "image/gif"),
        "/pic.webp": (WEBP, "image/webp"),
        "/fake.png": (HTML, "image/png"),
        "/logo.svg": (SVG, "image/svg+xml"),
        "/big.png": (BIG, "image/png"),
    }
    for path, (body, ctype) in routes.items():
        httpserver.expect_request(path).respond_with_data(body, content_type=ctype)
    httpserver.expect_request("/broken.png").respond_with_data(b"oops", status=500)

    def anything(request):  # hostile paths: whatever the client sends, answer an image
        return Response(HOSTILE, content_type="image/png")

    httpserver.expect_request(re.compile(".*")).respond_with_handler(anything)
    return httpserver


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def body(*srcs: str) -> lxml.html.HtmlElement:
    imgs = "".join(f'<p><img src="{src}" alt="i{n}"></p>' for n, src in enumerate(srcs))
    return lxml.html.fragment_fromstring(f"<div>{imgs}</div>")


def srcs(root: lxml.html.HtmlElement) -> list[str]:
    return [img.get("src") for img in root.iter("img")]


def test_png_jpeg_gif_webp_are_copied_with_the_type_their_bytes_say(site, tmp_path):
    store = ImageStore(tmp_path, fetch)
    urls = [site.url_for(p) for p in ("/a.png", "/photo", "/anim.gif", "/pic.webp")]
    root = body(*urls)
    report = store.localize(root, "pages/world/2026-11")
    assert [u for u, _ in report.localized] == urls
    paths = [p for _, p in report.localized]
    assert all(ASSET.match(p) for p in paths), paths
    assert [p.rsplit(".", 1)[1] for p in paths] == ["png", "jpg", "gif", "webp"]
    assert report.failed == []
    assert sorted(report.written) == sorted(paths)
    # The page links each image relative to its own folder, and the link lands on the bytes.
    page_dir = tmp_path / "pages/world/2026-11"
    for src, path, data in zip(srcs(root), paths, (PNG, JPEG, GIF, WEBP), strict=True):
        assert src == "../../../" + path
        assert (page_dir / src).resolve().read_bytes() == data
    assert files_under(tmp_path) == set(paths)  # nothing else: no temp files left behind


def test_same_bytes_at_two_urls_make_one_file(site, tmp_path):
    store = ImageStore(tmp_path, fetch)
    root = body(site.url_for("/a.png"), site.url_for("/same-bytes-elsewhere.jpg"))
    report = store.localize(root, "pages/news/2026-11")
    (_, first), (_, second) = report.localized
    assert first == second and first.endswith(".png")
    assert report.written == [first]
    assert files_under(tmp_path) == {first}
    assert srcs(root)[0] == srcs(root)[1]


def test_each_url_is_downloaded_once_per_run_and_written_once_ever(site, tmp_path):
    url = site.url_for("/a.png")
    store = ImageStore(tmp_path, fetch)
    store.localize(body(url, url), "pages/a/2026-11")
    store.localize(body(url), "pages/b/2026-11")
    assert sum(1 for req, _ in site.log if req.path == "/a.png") == 1

    (path,) = files_under(tmp_path)
    stat = (tmp_path / path).stat()
    next_run = ImageStore(tmp_path, fetch)
    report = next_run.localize(body(url), "pages/a/2026-12")
    assert report.localized == [(url, path)]
    assert report.written == []  # already in the repo: not written again
    after = (tmp_path / path).stat()
    assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)


def test_asset_url_template_points_at_the_cdn(site, tmp_path):
    store = ImageStore(tmp_path, fetch)
    root = body(site.url_for("/a.png"))
    report = store.localize(root, "pages/world/2026-11", "https://cdn.jsdelivr.net/gh/o/r@main/{path}")
    (_, path), = report.localized
    assert srcs(root) == [f"https://cdn.jsdelivr.net/gh/o/r@main/{path}"]


def test_refused_and_failed_images_keep_their_url_and_are_reported(site, tmp_path):
    store = ImageStore(tmp_path, fetch, max_bytes=len(BIG) - 1)
    urls = [site.url_for(p) for p in ("/fake.png", "/logo.svg", "/big.png", "/broken.png")]
    urls.append("http://127.0.0.1:9/unreachable.png")  # connection refused
    root = body(*urls)
    report = store.localize(root, "pages/world/2026-11")
    assert srcs(root) == urls
    assert report.localized == [] and report.written == []
    reasons = dict(report.failed)
    assert list(reasons) == urls
    assert "not a recognised image" in reasons[urls[0]]
    assert "SVG" in reasons[urls[1]]
    assert "too large" in reasons[urls[2]]
    assert "500" in reasons[urls[3]]
    assert "ConnectionError" in reasons[urls[4]]
    assert files_under(tmp_path) == set()


def test_a_type_the_source_does_not_allow_is_refused(site, tmp_path):
    store = ImageStore(tmp_path, fetch, types=("image/png",))
    url = site.url_for("/anim.gif")
    report = store.localize(body(url), "p")
    assert report.failed == [(url, "ValueError: type image/gif not allowed")]


def test_fetch_may_return_bytes_or_raise(tmp_path):
    def fetch_bytes(url: str) -> bytes:
        if "bad" in url:
            raise RuntimeError("blocked")
        return GIF

    store = ImageStore(tmp_path, fetch_bytes)
    root = body("https://img.example/ok.gif", "https://img.example/bad.gif")
    report = store.localize(root, "pages/x/2026-11")
    assert len(report.localized) == 1
    assert report.failed == [("https://img.example/bad.gif", "RuntimeError: blocked")]
    assert srcs(root)[1] == "https://img.example/bad.gif"


def test_lazy_srcset_and_picture_images_are_localised_and_their_other_urls_dropped(site, tmp_path):
    png, gif, webp = (site.url_for(p) for p in ("/a.png", "/anim.gif", "/pic.webp"))
    html = f"""<div>
      <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="{png}" data-srcset="{png} 2x" class="lazy">
      <img src="{gif}" srcset="{gif} 1x, {webp} 2x" sizes="50vw">
      <picture><source srcset="{webp}" type="image/webp"><img src="{gif}" alt="p"></picture>
      <video poster="{png}"></video>
      <img src="{png}" width="1" height="1" alt="pixel">
    </div>"""
    root = lxml.html.fragment_fromstring(html)
    report = ImageStore(tmp_path, fetch).localize(root, "pages/x/2026-11")
    imgs = list(root.iter("img"))
    for img in imgs[:3]:
        assert img.get("src").startswith("../../../assets/")
        assert not any(a in ("srcset", "sizes") or a.startswith("data-") for a in img.attrib)
    assert imgs[0].get("class") == "lazy"
    # The same choice as the converter's: a real src wins over srcset candidates.
    assert imgs[1].get("src").endswith(".gif")
    assert root.xpath("//source") == []  # renditions pointing at the source site are gone
    assert root.xpath("//picture/img/@alt") == ["p"]
    assert root.xpath("//video/@poster")[0].startswith("../../../assets/")
    assert imgs[3].get("src") == png  # a 1x1 tracking pixel is not worth a file
    assert {u for u, _ in report.localized} == {png, gif}
    assert sum(1 for req, _ in site.log if req.path == "/pic.webp") == 0


def test_an_inline_data_image_becomes_a_file_without_any_download(tmp_path):
    def no_fetch(url: str) -> bytes:
        raise AssertionError(f"fetched {url}")

    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    pixel = "data:image/gif;base64,R0lGODlhAQABAAAAACw="  # 1x1: a placeholder, not an image
    root = body(data_url[:40] + "\n" + data_url[40:], pixel)
    report = ImageStore(tmp_path, no_fetch).localize(root, "pages/x/2026-11")
    (_, path), = report.localized
    assert report.localized == [("data:image/png;base64,…", path)] and ASSET.match(path)
    assert (tmp_path / path).read_bytes() == PNG
    assert srcs(root) == ["../../../" + path, pixel]
    assert report.failed == []


def test_a_data_image_over_the_size_limit_is_refused_by_its_decoded_size(tmp_path):
    data_url = "data:image/png;base64," + base64.b64encode(BIG).decode()
    report = ImageStore(tmp_path, fetch, max_bytes=len(BIG) - 1).localize(body(data_url), "p")
    assert report.failed == [("data:image/png;base64,…", f"ValueError: too large: {len(BIG)} bytes > {len(BIG) - 1}")]
    assert report.localized == [] and not (tmp_path / "assets").exists()


def test_an_image_only_in_srcset_is_localised_from_its_largest_candidate(site, tmp_path):
    gif, webp = site.url_for("/anim.gif"), site.url_for("/pic.webp")
    root = lxml.html.fragment_fromstring(f'<p><img srcset="{gif} 480w, {webp} 960w" alt="s"></p>')
    report = ImageStore(tmp_path, fetch).localize(root, "pages/x/2026-11")
    assert [u for u, _ in report.localized] == [webp]
    assert root.xpath("//img/@src")[0].endswith(".webp") and root.xpath("//img/@srcset") == []


def test_hostile_urls_never_write_outside_the_repo(site, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "outside.txt").write_text("keep")
    base = site.url_for("/")
    hostile = [
        base + "../../../../outside.png",
        base + "%2e%2e/%2e%2e/%2e%2e/etc/passwd.png",
        base + "..%2f..%2f..%2fescape.png",
        base + "img/..%5c..%5cwin.png",
        base + "a.png?name=../../../../evil.png",
    ]
    store = ImageStore(repo, fetch)
    root = body(*hostile)
    report = store.localize(root, "pages/x/2026-11")
    assert len(report.localized) == len(hostile)
    written = files_under(tmp_path)
    assert written - {"outside.txt"} == {"repo/" + p for _, p in report.localized}
    assert all(ASSET.match(p) for _, p in report.localized)
    assert (tmp_path / "outside.txt").read_text() == "keep"


def test_a_symlinked_assets_folder_cannot_lead_out_of_the_repo(site, tmp_path):
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, repo / "assets")
    report = ImageStore(repo, fetch).localize(body(site.url_for("/a.png")), "p")
    assert report.localized == [] and "outside the repo" in report.failed[0][1]
    assert files_under(elsewhere) == set()


@pytest.mark.parametrize("assets_dir", ["../assets", "/tmp/assets", "", ".", "a/../../b"])
def test_assets_dir_must_stay_inside_the_repo(tmp_path, assets_dir):
    with pytest.raises(ValueError):
        ImageStore(tmp_path, fetch, assets_dir=assets_dir)


def test_sniff_image():
    assert sniff_image(PNG) == "image/png"
    assert sniff_image(JPEG) == "image/jpeg"
    assert sniff_image(GIF) == "image/gif"
    assert sniff_image(WEBP) == "image/webp"
    assert sniff_image(picture("AVIF", (5, 5, 5))) == "image/avif"
    assert sniff_image(SVG) is None
    assert sniff_image(HTML) is None
    assert sniff_image(b"") is None
    assert sniff_image(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") is None


def test_links_from_other_folders_and_a_cdn_prefix_without_placeholder(tmp_path):
    store = ImageStore(tmp_path, lambda url: PNG)
    path = "assets/ab/abcd.png"
    assert store.link(path, "pages/world/2026-11") == "../../../assets/ab/abcd.png"
    assert store.link(path, "") == "assets/ab/abcd.png"
    assert store.link(path, "indexes/") == "../assets/ab/abcd.png"
    assert store.link(path, "x", "https://cdn.example/o/r/") == "https://cdn.example/o/r/assets/ab/abcd.png"
    with pytest.raises(ValueError):
        store.localize(body("https://img.example/a.png"), "/etc")
