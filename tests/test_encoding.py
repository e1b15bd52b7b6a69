"""Charset decoding of fetched pages: BOM, header, <meta>, detection, and headers that lie."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from mirror.encoding import (
    decode_html,
    decode_text,
    garbled_share,
    normalize_charset,
    sniff_binary,
)
from mirror.fetch import Fetcher
from mirror.model import FetchSettings

ZH = "新闻报道：今天北京天气晴朗，市民纷纷外出踏青。记者在公园里看到许多家庭带着孩子放风筝。"
ZH_TW = "新聞報導：今天臺北天氣晴朗，市民紛紛外出踏青。記者在公園裡看到許多家庭帶著孩子放風箏。"
JA = "ニュース記事：今日の東京は晴れ。公園では多くの家族が凧揚げを楽しんでいました。"
KO = "오늘 서울은 맑은 날씨입니다. 시민들이 공원에 나와 산책을 즐겼습니다."
RU = "Сегодня в Москве солнечная погода, горожане вышли на прогулку в парки."
FR = "Le café de la gare a rouvert ses portes à côté de l'église ; élèves et garçons y déjeunent."


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}<title>t</title></head><body><p>{body}</p><p>{body}</p></body></html>"


CASES = {
    # name: (bytes, Content-Type header, expected text, expected codec)
    "gbk with header": (page(ZH).encode("gbk"), "text/html; charset=GBK", ZH, "gb18030"),
    "gbk with meta only": (
        page(ZH, '<meta charset="gb2312">').encode("gbk"),
        "text/html",
        ZH,
        "gb18030",
    ),
    "gbk with meta http-equiv": (
        page(ZH, '<meta http-equiv="Content-Type" content="text/html; charset=gbk">').encode("gbk"),
        "text/html",
        ZH,
        "gb18030",
    ),
    "gbk, header says utf-8": (page(ZH).encode("gbk"), "text/html; charset=utf-8", ZH, "gb18030"),
    "gbk, header says utf-8, meta says gbk": (
        page(ZH, "<meta charset=gbk>").encode("gbk"),
        "text/html; charset=utf-8",
        ZH,
        "gb18030",
    ),
    "gbk, header says iso-8859-1": (
        page(ZH).encode("gbk"),
        "text/html; charset=iso-8859-1",
        ZH,
        "gb18030",
    ),
    "utf-8, header says iso-8859-1": (
        page(ZH).encode("utf-8"),
        "text/html; charset=ISO-8859-1",
        ZH,
        "utf-8",
    ),
    "utf-8, meta says gbk": (
        page(ZH, "<meta charset=gbk>").encode("utf-8"),
        "text/html",
        ZH,
        "utf-8",
    ),
    "gbk, no clue at all": (page(ZH).encode("gbk"), "text/html", ZH, "gb18030"),
    "big5 with header": (page(ZH_TW).encode("big5"), "text/html; charset=big5", ZH_TW, "big5hkscs"),
    "big5, no clue": (page(ZH_TW).encode("big5"), None, ZH_TW, "big5hkscs"),
    "shift_jis with meta": (
        page(JA, "<meta charset=Shift_JIS>").encode("shift_jis"),
        "text/html",
        JA,
        "cp932",
    ),
    "shift_jis, no clue": (page(JA).encode("shift_jis"), "text/html", JA, "cp932"),
    "euc-jp with meta": (
        page(JA, "<meta charset=EUC-JP>").encode("euc_jp"),
        "text/html",
        JA,
        "euc_jp",
    ),
    "euc-kr, no clue": (page(KO).encode("euc_kr"), "text/html", KO, "cp949"),
    "windows-1251, no clue": (page(RU).encode("cp1251"), "text/html", RU, "cp1251"),
    "utf-8 BOM beats a lying header": (
        codecs.BOM_UTF8 + page(ZH).encode("utf-8"),
        "text/html; charset=gbk",
        ZH,
        "utf-8",
    ),
    "utf-16 BOM": (
        codecs.BOM_UTF16_LE + page(ZH).encode("utf-16-le"),
        "text/html",
        ZH,
        "utf-16-le",
    ),
    "windows-1252 labelled latin-1": (
        page(FR).encode("cp1252"),
        "text/html; charset=iso-8859-1",
        FR,
        "cp1252",
    ),
    "quoted charset parameter": (
        page(ZH).encode("gbk"),
        'text/html; charset="gb2312"',
        ZH,
        "gb18030",
    ),
}


@pytest.fixture(scope="module")
def fetcher() -> Fetcher:
    with Fetcher(FetchSettings(timeout=2, retries=0, allow_hosts=("127.0.0.1", "localhost"))) as f:
        yield f


@pytest.mark.parametrize("name", list(CASES))
def test_encoding_matrix_over_http(name: str, httpserver: HTTPServer, fetcher: Fetcher) -> None:
    body, content_type, expected, codec = CASES[name]
    headers = {"Content-Type": content_type} if content_type else {}
    httpserver.expect_request("/page").respond_with_data(body, headers=headers)
    if content_type is None:  # werkzeug adds a default type; remove the clue entirely
        httpserver.clear()
        httpserver.expect_request("/page").respond_with_handler(_no_content_type(body))
    fetched = fetcher.get(httpserver.url_for("/page"), expect="html")
    assert expected in fetched.text
    assert "\ufffd" not in fetched.text
    assert fetched.encoding == codec


def _no_content_type(body: bytes):  # type: ignore[no-untyped-def]
    from werkzeug import Response

    def handler(request):  # type: ignore[no-untyped-def]
        response = Response(body)
        del response.headers["Content-Type"]
        return response

    return handler


def test_forced_encoding_beats_everything() -> None:
    body = codecs.BOM_UTF8 + page(JA).encode("utf-8")
    text, codec = decode_html(
        page(JA).encode("shift_jis"), "text/html; charset=utf-8", forced="sjis"
    )
    assert JA in text and codec == "cp932"
    assert decode_html(body, forced="no-such-charset")[1] == "utf-8"  # unknown: ignored


def test_stray_bad_byte_does_not_discard_a_true_utf8_label() -> None:
    body = page(ZH * 3).encode("utf-8") + b"\xff"
    text, codec = decode_html(body, "text/html; charset=utf-8")
    assert codec == "utf-8" and ZH in text


def test_windows_1252_undefined_bytes_do_not_fail() -> None:
    text, codec = decode_html(b"<p>\x81\x8d\x93quoted\x94</p>", "text/html; charset=latin1")
    assert codec == "cp1252"
    assert text == "<p>\x81\x8d\u201cquoted\u201d</p>"


@pytest.mark.parametrize(
    "label", ["utf-7", "base64", "zlib", "rot13", "idna", "unicode_escape", "x-nonsense"]
)
def test_unsafe_or_unknown_labels_are_ignored(label: str) -> None:
    assert normalize_charset(label) is None
    text, codec = decode_html(b"<p>+ADw-script+AD4-</p>", f"text/html; charset={label}")
    assert codec == "utf-8" and "<script>" not in text


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("GB2312", "gb18030"),
        ("x-gbk", "gb18030"),
        ("Big5", "big5hkscs"),
        ("Shift_JIS", "cp932"),
        ("ISO-8859-1", "cp1252"),
        ("US-ASCII", "cp1252"),
        ("euc-kr", "cp949"),
        ("UTF8", "utf-8"),
        ("koi8-r", "koi8-r"),
        ("windows-1251", "cp1251"),
    ],
)
def test_whatwg_label_mapping(label: str, codec: str) -> None:
    assert normalize_charset(label) == codec


def test_utf16_label_on_ascii_compatible_bytes_is_not_believed() -> None:
    text, codec = decode_html(page(FR).encode("utf-8"), "text/html; charset=utf-16")
    assert codec == "utf-8" and FR in text
    text, codec = decode_html(page(FR).encode("utf-16-le"), "text/html; charset=utf-16")
    assert codec == "utf-16-le" and FR in text


def test_meta_utf16_means_utf8() -> None:
    assert decode_html(page(ZH, "<meta charset=utf-16>").encode("utf-8"))[1] == "utf-8"


def test_meta_in_a_comment_is_ignored() -> None:
    body = page(ZH, "<!-- <meta charset=big5> -->").encode("gbk")
    assert decode_html(body)[1] == "gb18030"


def test_decode_text_reads_the_xml_declaration() -> None:
    xml = f'<?xml version="1.0" encoding="gb2312"?><rss><title>{ZH}</title></rss>'.encode("gb18030")
    text, codec = decode_text(xml, "application/rss+xml")
    assert ZH in text and codec == "gb18030"


@settings(max_examples=200, deadline=None)
@given(
    content=st.binary(max_size=2000),
    header=st.sampled_from(
        [
            None,
            "text/html",
            "text/html; charset=utf-8",
            "text/html; charset=gbk",
            "text/html; charset=bogus",
        ]
    ),
)
def test_decode_never_raises(content: bytes, header: str | None) -> None:
    text, codec = decode_html(content, header)
    assert isinstance(text, str) and codec
    text, codec = decode_text(content, header)
    assert isinstance(text, str) and codec


# --- binary or text -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_no_page_of_the_matrix_is_taken_for_binary(name: str) -> None:
    body, content_type, _, _ = CASES[name]
    assert sniff_binary(body) is None
    assert garbled_share(decode_html(body, content_type)[0]) == 0.0


def test_binary_decoded_as_text_is_mostly_garbled() -> None:
    noise = bytes(range(256)) * 20
    assert garbled_share(decode_html(noise, "text/html")[0]) > 0.3
    assert garbled_share(decode_html(noise, "text/html; charset=gbk")[0]) > 0.1
    assert garbled_share("") == 0.0


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xdb", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"%PDF-1.7", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b\x08\x00", "application/gzip"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8L", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"\x00\x00\x00\x18ftypheic", "image/heic"),
        (b"wOF2\x00\x01", "font/woff2"),
        (b"\x7fELF\x02\x01", "application/x-executable"),
        (bytes(3000) + b"<p>mostly NUL</p>", "binary data"),
    ],
)
def test_binary_formats_are_recognised_by_their_bytes(content: bytes, media_type: str) -> None:
    assert sniff_binary(content) == media_type


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"<p>PK is fine mid-text: PK\x03\x04</p>",
        b"RIFF is a word",
        ("<p>" + ZH + "</p>").encode("utf-16-be"),
        ("<p>" + RU + "</p>").encode("utf-16-le"),
        ("<p>" + FR + "</p>").encode("utf-32-le"),
        b"<p>a stray NUL\x00 in a long enough page of ordinary text</p>",
    ],
)
def test_text_is_not_binary(content: bytes) -> None:
    assert sniff_binary(content) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=5000))
def test_sniff_never_raises(content: bytes) -> None:
    found = sniff_binary(content)
    assert found is None or found == "binary data" or "/" in found
