"""Headless Chromium opens report.html offline and the charts render: bars and lines are painted.

The screenshot is kept as test-artifacts/report-html.png (gitignored) for a person to look at.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest
from fakes import rundir as fake

from swarmbench.report import svg, writer

pytestmark = pytest.mark.browser

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_TIMEOUT_S = 120
WINDOW = (1400, 3000)


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian's chromium is not installed")
    return path


def _run_chromium(*args: str) -> str:
    """Run headless Chromium; its whole process group is ended afterwards, whatever happens."""
    profile = tempfile.mkdtemp(prefix="sb-chromium-")
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=CHROMIUM_TIMEOUT_S)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0 or out, f"chromium failed ({proc.returncode})"
    return out


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _add_bytes(a: bytes, b: bytes) -> bytearray:
    """Bytewise (a + b) mod 256 on whole rows at once, carries kept out of the next byte."""
    n = len(a)
    high = int.from_bytes(b"\x80" * n, "big")
    low = int.from_bytes(b"\x7f" * n, "big")
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    return bytearray((((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(n, "big"))


def _unfilter(kind: int, row: bytearray, prev: bytearray, bpp: int) -> bytearray:
    if kind == 0:
        return row
    if kind == 2:  # Up: most of Chromium's rows, done without a per-byte loop
        return _add_bytes(row, prev)
    for x in range(len(row)):
        left = row[x - bpp] if x >= bpp else 0
        up, corner = prev[x], prev[x - bpp] if x >= bpp else 0
        add = (0, left, up, (left + up) // 2, _paeth(left, up, corner))[kind]
        row[x] = (row[x] + add) & 0xFF
    return row


def decode_png(data: bytes) -> tuple[int, int, int, list[bytearray]]:
    """Width, height, bytes per pixel and unfiltered rows of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and not interlace, "unexpected PNG format"
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = bytearray(raw[start + 1 : start + 1 + stride])
        prev = _unfilter(raw[start], row, prev, bpp)
        rows.append(prev)
    return width, height, bpp, rows


def _pixels(rows: list[bytearray], bpp: int, rgb: tuple[int, int, int]) -> int:
    """Pixels of exactly this colour (matches aligned to pixel boundaries only)."""
    pattern = re.compile(re.escape(bytes(rgb)))
    return sum(1 for row in rows for m in pattern.finditer(row) if m.start() % bpp == 0)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("run")
    rundir = fake.build(path)
    fake.alter(rundir, "gin", "off", "ab", verdict="failed: verification (content-length)")
    writer.write(path)
    return path / "report.html"


def test_chromium_paints_the_charts(report_html: Path) -> None:
    ARTEFACTS.mkdir(exist_ok=True)
    shot = ARTEFACTS / "report-html.png"
    shot.unlink(missing_ok=True)
    _run_chromium(
        f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", report_html.as_uri()
    )
    assert shot.exists(), "chromium wrote no screenshot"
    width, height, bpp, rows = decode_png(shot.read_bytes())
    assert (width, height) == WINDOW
    # a blank page is all 255; text, tables and charts are not
    painted = sum(len(row) - row.count(255) for row in rows)
    assert painted > 0.02 * width * height * bpp, f"page looks blank: {painted} painted bytes"
    # the overview's bars in the first two series colours, big solid areas of each
    for colour in svg.PALETTE[:2]:
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert _pixels(rows, bpp, rgb) > 20_000, f"no bars painted in {colour}"


def test_chromium_parses_the_svg_charts(report_html: Path) -> None:
    dom = _run_chromium("--dump-dom", report_html.as_uri())
    assert dom.count("<svg") >= 50
    heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([\d.]+)"', dom)]
    assert len(heights) > 100 and min(heights) > 0
    paths = re.findall(r'class="line" d="([^"]*)"', dom)
    assert paths and all(p.count("L") >= 2 for p in paths)
