"""Streamed, resumable, verified downloads.

A file is streamed into ``<dest>.part`` next to its final place.  When a transfer breaks, the
partial file stays and the next attempt (in this call or a later one) asks the server for the
rest with an HTTP ``Range`` header; a server that ignores ranges sends the whole file again and
the partial file is restarted.  Only a file whose checksum matches is moved into place, with
``os.replace`` so that a reader never sees half a file.
"""

import hashlib
import http.client
import os
import re
import sys
import time
import urllib.error
import urllib.request

from minicnn.datasets._idx import open_maybe_gzip

#: Attempts per URL before trying the next mirror (each one resumes the partial file).
RETRIES = 3
#: Seconds to wait for a connection to open (TCP and TLS handshakes).
CONNECT_TIMEOUT = 10
#: Seconds to wait for the next bytes of a response (its headers included).
READ_TIMEOUT = 30
#: Seconds without a single byte arriving, across every attempt and mirror, before giving up: a
#: network that drops packets ends in an error within about this long (plus one timeout)
#: instead of retrying each mirror at length.
STALL_TIMEOUT = 90
#: Seconds one file's download may take in all, however slowly it progresses (a link under
#: ~10 KB/s); the partial file is kept, so the next call resumes where this one stopped.
DEADLINE = 3600
#: Seconds before retry n is ``RETRY_DELAY * n`` (transient failures often clear in a moment).
RETRY_DELAY = 1.0
_CHUNK = 1 << 16
_USER_AGENT = "minicnn-datasets/1.0 (+python urllib)"


class ChecksumError(ValueError):
    """A downloaded file does not match its published checksum."""


def file_digest(path, algorithm="sha256", *, decompressed=False):
    """Hex digest of ``path`` (of its gunzipped payload when ``decompressed``)."""
    h = hashlib.new(algorithm)
    opener = open_maybe_gzip if decompressed else (lambda p: open(p, "rb"))
    with opener(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(path, remote):
    """Raise ChecksumError unless ``path`` matches one of the digests ``remote`` knows.

    ``remote.sha256`` is the digest of the file as served; ``remote.content_sha256`` the digest
    of its gunzipped payload (robust to re-compression, e.g. Debian's copies of Fashion-MNIST).
    """
    checks = []
    if remote.sha256:
        got = file_digest(path)
        if got == remote.sha256:
            return
        checks.append(f"sha256 {got} (expected {remote.sha256})")
    if remote.content_sha256:
        try:
            got = file_digest(path, decompressed=True)
        except (OSError, EOFError) as exc:
            got = f"<unreadable: {exc}>"
        if got == remote.content_sha256:
            return
        checks.append(f"sha256 of the decompressed data {got} (expected {remote.content_sha256})")
    if not checks:
        raise ChecksumError(f"{remote.name}: no checksum known, refusing to trust a download")
    raise ChecksumError(f"{path}: checksum mismatch: " + "; ".join(checks))


class _Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label, total, stream=None):
        self.label, self.total = label, total
        self.stream = sys.stderr if stream is None else stream
        self.start = self.last = time.monotonic()
        self.done0 = None

    def update(self, done, final=False):
        now = time.monotonic()
        if self.done0 is None:
            self.done0 = done
        if not final and now - self.last < 0.1:
            return
        self.last = now
        rate = (done - self.done0) / max(now - self.start, 1e-6)
        mb = 1024 * 1024
        if self.total:
            frac = min(done / self.total, 1.0)
            bar = "=" * int(frac * 30)
            bar = (bar[:-1] + ">" if 0 < len(bar) < 30 else bar).ljust(30)
            text = f"\r{self.label} [{bar}] {done / mb:7.1f}/{self.total / mb:.1f} MB {rate / mb:6.2f} MB/s"
        else:
            text = f"\r{self.label} {done / mb:7.1f} MB {rate / mb:6.2f} MB/s"
        self.stream.write(text + ("\n" if final else ""))
        self.stream.flush()


class _HTTPConnection(http.client.HTTPConnection):
    """Connects within ``CONNECT_TIMEOUT``, then waits at most ``READ_TIMEOUT`` for each read
    (urllib has one timeout for both)."""

    def connect(self):
        super().connect()
        self.sock.settimeout(READ_TIMEOUT)


class _HTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        super().connect()
        self.sock.settimeout(READ_TIMEOUT)


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self._context)


class _Clock:
    """When a download must stop: ``STALL_TIMEOUT`` after the last byte, ``DEADLINE`` in all."""

    def __init__(self):
        self.start = self.last_byte = time.monotonic()

    def progressed(self):
        self.last_byte = time.monotonic()

    def expired(self):
        """Why the download must stop now, or None."""
        now = time.monotonic()
        if now - self.last_byte > STALL_TIMEOUT:
            return f"no data arrived for {now - self.last_byte:.0f} s (the network may be dropping packets)"
        if now - self.start > DEADLINE:
            return f"the download took more than {DEADLINE} s"
        return None


def _open(url, offset):
    req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    return urllib.request.build_opener(_HTTPHandler, _HTTPSHandler).open(req, timeout=CONNECT_TIMEOUT)


def _transfer(url, part, progress_label, quiet, clock):
    """One attempt: append the rest of ``url`` to ``part``; raises on any network failure."""
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    try:
        resp = _open(url, offset)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            # Our partial file is not a prefix the server can continue: start over.
            os.remove(part)
            resp = _open(url, 0)
            offset = 0
        else:
            raise
    with resp:
        status = getattr(resp, "status", 200)
        if offset and status == 206:
            m = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != offset:
                raise OSError(f"{url}: server answered range {offset}- with {resp.headers.get('Content-Range')!r}")
            mode = "ab"
        else:
            offset, mode = 0, "wb"  # server ignored the Range header: whole file again
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        bar = None if quiet else _Progress(progress_label, total)
        done = offset
        with open(part, mode) as out:
            while True:
                block = resp.read1(_CHUNK)  # what has arrived: a trickle cannot block a whole chunk
                if not block:
                    break
                out.write(block)
                done += len(block)
                clock.progressed()
                if bar:
                    bar.update(done)
                if clock.expired():  # a trickle: bytes keep coming, too slowly to finish
                    raise TimeoutError(clock.expired())
        if total is not None and done != total:
            raise http.client.IncompleteRead(b"", total - done)
        if bar:
            bar.update(done, final=True)


def download(urls, dest, remote, *, quiet=None):
    """Fetch the first URL of ``urls`` that works into ``dest``, verified against ``remote``.

    Returns ``dest``.  Network failures are retried ``RETRIES`` times per URL, each retry resuming
    the partial file.  A checksum mismatch deletes the partial file and raises ChecksumError at
    once (a mirror serving wrong bytes is not retried).  When every URL fails, raises OSError
    listing each URL and its error; the partial file is kept so a later call resumes it.
    """
    if quiet is None:
        quiet = not sys.stderr.isatty() and os.environ.get("MINICNN_PROGRESS", "") != "1"
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    part = dest + ".part"
    errors = []
    clock = _Clock()
    for url in urls:
        for attempt in range(1, RETRIES + 1):
            stop = clock.expired()
            if stop:
                errors.append(f"gave up: {stop}; the partial file {part} is kept for the next call")
                raise OSError("download failed:\n  " + "\n  ".join(errors))
            try:
                if not quiet:
                    sys.stderr.write(f"Downloading {url}\n")
                _transfer(url, part, os.path.basename(dest), quiet, clock)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                errors.append(f"{url} (attempt {attempt}): {exc}")
                if isinstance(exc, urllib.error.HTTPError) and exc.code in (403, 404, 410):
                    break  # a missing file will not appear on retry
                if attempt < RETRIES:
                    time.sleep(RETRY_DELAY * attempt)
                continue
            try:
                verify(part, remote)
            except ChecksumError:
                os.remove(part)
                raise
            os.replace(part, dest)
            return dest
    raise OSError("download failed:\n  " + "\n  ".join(errors))
