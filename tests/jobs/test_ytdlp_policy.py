"""jobs.ytdlp.policy: which links we fetch. Syntax and addresses only; no network but DNS, and
DNS is only asked for names (the tests use literal addresses and the reserved .invalid)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from jobs import ytdlp
from jobs.units import MB
from jobs.ytdlp import messages, policy

PRIVATE_URLS = [
    "http://10.0.0.1/",
    "http://[::1]/",
    "http://localhost/",
    "http://LOCALHOST./video.mp4",
    "http://192.168.1.10/video.mp4",
    "http://172.16.0.5/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f.1/",  # and in hex shorthand
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[64:ff9b::a00:1]/",  # NAT64 for 10.0.0.1
    "http://[2002:7f00:1::]/",  # 6to4 for 127.0.0.1
]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", messages.MSG_NOT_A_LINK),
        ("", messages.MSG_NOT_A_LINK),
        ("http://", messages.MSG_NOT_A_LINK),
        ("https://exa mple.com/", messages.MSG_NOT_A_LINK),
        ("http://example.com:99999/", messages.MSG_NOT_A_LINK),
        ("file:///etc/passwd", messages.MSG_SCHEME),
        ("ftp://example.com/video.mp4", messages.MSG_SCHEME),
        ("javascript:alert(1)", messages.MSG_SCHEME),
        ("https://user:secret@example.com/video.mp4", messages.MSG_CREDENTIALS),
    ],
)
def test_it_refuses_what_is_not_a_web_link(url: str, message: str, tmp_path: Path) -> None:
    for allow_private in (False, True):
        with pytest.raises(ytdlp.SourceError) as caught:
            ytdlp.check_url(url, allow_private=allow_private)
        assert str(caught.value) == message
    assert not ytdlp.is_web_url(url)
    # The client checks first too, before yt-dlp sees the link.
    with pytest.raises(ytdlp.SourceError, match=re.escape(message)):
        ytdlp.inspect(url, allow_private=True, max_entries=10)
    with pytest.raises(ytdlp.SourceError, match=re.escape(message)):
        ytdlp.download(url, dest_dir=tmp_path, max_filesize=MB, max_duration=60, allow_private=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("  https://Example.COM:443/a.mp4  ", "https://example.com/a.mp4"),
        ("HTTP://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x?q=1#t=3", "http://example.com:8080/x?q=1"),
        ("youtube.com/watch?v=dQw4w9WgXcQ", "https://youtube.com/watch?v=dQw4w9WgXcQ"),
        ("//vimeo.com/76979871", "https://vimeo.com/76979871"),
        ("http://[::1]:8000/a", "http://[::1]:8000/a"),
        # The fragment carries yt-dlp's "smuggled" data (extra headers...): never from users.
        ("http://example.com/a.mp4#__youtubedl_smuggle=%7B%7D", "http://example.com/a.mp4"),
    ],
)
def test_it_normalises_links(url: str, expected: str) -> None:
    assert ytdlp.check_url(url, allow_private=True) == expected


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_it_refuses_private_addresses(url: str) -> None:
    with pytest.raises(ytdlp.SourceError) as caught:
        ytdlp.check_url(url, allow_private=False)
    assert str(caught.value) == messages.MSG_PRIVATE
    assert ytdlp.check_url(url, allow_private=True)  # development and tests may use them


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "93.184.216.34"],
)
def test_it_accepts_public_addresses(address: str) -> None:
    assert policy.is_public_address(address)


def test_it_reports_a_host_that_does_not_exist() -> None:
    # .invalid never resolves (RFC 6761).
    with pytest.raises(ytdlp.SourceError, match=r"^We could not find the website nothing-here\.invalid\.$"):
        ytdlp.check_url("https://nothing-here.invalid/video.mp4", allow_private=False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a.mp4", True),
        ("http://127.0.0.1:8000/a.mp4", True),  # syntax only: addresses are check_url's part
        ("javascript:alert(document.cookie)", False),
        ("JavaScript:alert(1)", False),
        ("data:video/mp4;base64,AAAA", False),
        ("vbscript:msgbox", False),
        ("", False),
    ],
)
def test_it_tells_a_web_link_by_its_syntax(url: str, expected: bool) -> None:
    assert ytdlp.is_web_url(url) is expected


def test_it_needs_no_yt_dlp() -> None:
    # The web process checks links with this module; yt-dlp is the client's and the guard's.
    tree = ast.parse(Path(policy.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [name for name in imported if name.split(".")[0] == "yt_dlp"]
