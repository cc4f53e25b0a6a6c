"""Gunicorn with the production config, and a load of signed-in browsers on it, for bench_site.py.

The load: one thread per simulated user, each with its own cookies and one keep-alive
connection to 127.0.0.1, asking for one page again and again, without pause, until the time is
up (or a request bound is reached). A browser retries a request once on a fresh connection when
the server closed the kept one (gunicorn closes idle connections and restarts workers after
max_requests); so does this, and the retry counts in the request's time, not as an error.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TIMEOUT_S = 30  # per request: a stuck server ends a run with errors, not a hang
MAX_REQUESTS = 1_000_000  # per run, whatever the time: the load always ends
# Network errors of a kept connection the server closed meanwhile: retried once, on a new one.
CLOSED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.BadStatusLine)
# The same, narrowed to "closed before any byte of answer", the only case a browser sends a POST
# again (Writer): a garbled status line did come from the server.
CLOSED_UNANSWERED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    port: int
    log: Path

    def worker_boots(self) -> int:
        """Workers started so far (gunicorn logs each one): restarts after max_requests show here."""
        return self.log.read_text(errors="replace").count("Booting worker")

    def recycles(self) -> int:
        """Workers that stopped themselves after max_requests (gunicorn logs each one)."""
        return self.log.read_text(errors="replace").count("Autorestarting worker")


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], log: Path, app_root: Path = ROOT, probe: str = "/bench/trivial"
) -> Iterator[Server]:
    """The project in `app_root` plus a trivial view (this checkout's wsgi_bench.py) under
    app_root's docker/gunicorn.conf.py, bound to 127.0.0.1 on a free port; stopped (SIGTERM,
    then SIGKILL) however the block ends."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(app_root / "docker" / "gunicorn.conf.py"),
        # The command line wins over the config file: loopback only, not every interface.
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(app_root),
        "--pythonpath",
        str(HERE),
        "wsgi_bench:application",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command, cwd=app_root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(port, log)
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"gunicorn did not start; its log ends with:\n{tail}")
            time.sleep(0.2)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=100)  # the config's graceful_timeout is 90 s
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/bench/trivial", headers={"X-Forwarded-Proto": "https"})
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


@dataclass
class Result:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # of the requests answered 200
    errors: int = 0
    statuses: Counter = field(default_factory=Counter)  # of the errors: status or exception name
    retries: int = 0
    worker_boots: int = 0

    def add(self, other: Result) -> None:
        """Count `other` (a run of the same page) in this one."""
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.errors += other.errors
        self.statuses.update(other.statuses)
        self.retries += other.retries
        self.worker_boots += other.worker_boots

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def p50(self) -> float:
        return self.quantile(0.50)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)


class Browser:
    """One signed-in user: their cookies (updated from Set-Cookie) and one kept connection."""

    def __init__(self, port: int, cookies: dict[str, str]):
        self.port = port
        self.cookies = dict(cookies)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)

    def get(self, path: str) -> tuple[int, bytes, bool]:
        """(status, body, retried) of one GET."""
        try:
            return (*self._get(path), False)
        except CLOSED:
            self.conn.close()
            return (*self._get(path), True)

    def _get(self, path: str) -> tuple[int, bytes]:
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            # What nginx adds in production (BEHIND_PROXY=1): the request came over https.
            "X-Forwarded-Proto": "https",
            "Accept": "text/html,application/json",
            "User-Agent": "inspire-bench",
        }
        self.conn.request("GET", path, headers=headers)
        response = self.conn.getresponse()
        body = response.read()
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "01 Jan 1970" not in rest:
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        return response.status, body

    def close(self) -> None:
        self.conn.close()


def check(server: Server, path: str, cookies: dict[str, str]) -> None:
    """One request, which must answer 200: a page that fails is a bench to fix, not a figure."""
    browser = Browser(server.port, cookies)
    try:
        status, body, _ = browser.get(path)
    finally:
        browser.close()
    if status != 200:
        raise RuntimeError(f"{path} answered {status}: {body[:300]!r}")


def load(server: Server, path: str, jars: list[dict[str, str]], seconds: float) -> Result:
    """Every browser asks for `path` back to back for `seconds`; all start together."""
    browsers = [Browser(server.port, jar) for jar in jars]
    results = [Result() for _ in browsers]
    start = threading.Barrier(len(browsers) + 1)
    budget = MAX_REQUESTS // len(browsers)
    boots = server.worker_boots()
    began = [0.0]

    def run(browser: Browser, result: Result) -> None:
        start.wait()
        deadline = began[0] + seconds
        for _ in range(budget):
            if time.perf_counter() >= deadline:
                break
            sent = time.perf_counter()
            try:
                status, _, retried = browser.get(path)
            except (OSError, http.client.HTTPException) as exc:
                result.errors += 1
                result.statuses[type(exc).__name__] += 1
                browser.close()
                time.sleep(0.05)  # a server that refuses: do not spin
                continue
            result.retries += retried
            if status == 200:
                result.latencies.append(time.perf_counter() - sent)
            else:
                result.errors += 1
                result.statuses[status] += 1

    threads = [
        threading.Thread(target=run, args=pair, daemon=True) for pair in zip(browsers, results, strict=True)
    ]
    for thread in threads:
        thread.start()
    began[0] = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join(seconds + 2 * TIMEOUT_S + 5)
    ended = time.perf_counter()
    for browser in browsers:
        browser.close()
    total = Result(seconds=ended - began[0], worker_boots=server.worker_boots() - boots)
    for result in results:
        total.add(result)
    return total


# --- Saving and removing favourites, with nothing retried ---------------------------------------
@dataclass
class WriteResult:
    """A favourites load: what the users were told, and every request that got no answer."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # of every request answered 2xx
    saves: int = 0  # answered {"saved": true}
    removes: int = 0  # answered {"saved": false}
    reads: int = 0  # GETs answered 200
    resets: Counter = field(default_factory=Counter)  # no answer: exception name -> count
    retried: int = 0  # sent again on a fresh connection, as a browser does (Writer)
    statuses: Counter = field(default_factory=Counter)  # answered, but not 2xx
    saved: dict[int, set[int]] = field(default_factory=dict)  # user id -> frames saved, as told
    worker_boots: int = 0
    recycles: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def _dropped(sock: socket.socket | None) -> bool:
    """Whether the server closed this idle kept connection: readable with nothing to read. Browsers
    and urllib3 (requests) check this before they reuse a connection, and open a new one."""
    if sock is None:
        return False
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class Writer:
    """One signed-in user toggling their frames' favourites over one kept connection, as a
    browser does it. It does not send on a kept connection the server has visibly closed (a
    stopping worker closes its idle ones). When the server closes a kept connection just as the
    request goes out (a race no server can close: HTTP/1.1 has no "last request" signal), the
    request gets no byte of answer; Chromium and Firefox then send it once more on a fresh
    connection, whatever its method, and so does this. That is safe here because save and
    unsave are idempotent (save sets, unsave clears; the database check of test_load.py would
    see a double apply). Anything else goes unretried and counts: a fresh connection closed or
    reset, a second failure, an answer cut short."""

    def __init__(self, port: int, user: dict, *, https: bool):
        self.port = port
        self.user = user
        self.cookies = {"sessionid": user["session"], "csrftoken": user["csrf"]}
        self.origin = f"{'https' if https else 'http'}://127.0.0.1:{port}"
        self.https = https
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
        self.retried = 0  # requests sent again after a kept connection closed under them
        self.failed_on = ""  # which connection the last request went on, for the error's name

    def request(self, method: str, path: str) -> tuple[int, bytes]:
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Accept": "application/json",
            "User-Agent": "inspire-load",
        }
        if self.https:
            headers["X-Forwarded-Proto"] = "https"
        if method == "POST":
            headers |= {"X-CSRFToken": self.user["csrf"], "Origin": self.origin, "Content-Length": "0"}
        if _dropped(self.conn.sock):
            self.conn.close()  # http.client connects again on the request below
        reused = self.conn.sock is not None
        self.failed_on = "kept connection" if reused else "new connection"
        try:
            return self._send(method, path, headers)
        except CLOSED_UNANSWERED:
            if not reused:
                raise
            self.conn.close()
            self.retried += 1
            self.failed_on = "new connection, sent again"
            return self._send(method, path, headers)

    def _send(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        self.conn.request(method, path, headers=headers)
        response = self.conn.getresponse()
        body = response.read()
        if response.will_close:
            self.conn.close()  # http.client reconnects on the next request
        return response.status, body

    def close(self) -> None:
        self.conn.close()


def favourites_load(
    server: Server, users: list[dict], seconds: float, *, https: bool = False, pause_s: float = 0.0
) -> WriteResult:
    """Each user, in a thread of their own, toggles their frames one after the other (save the
    unsaved, remove the saved) for `seconds`, with a read of "Another one" every fourth request
    and, after every fifth, a pause of up to `pause_s` (a person looking at the page: their kept
    connection sits idle). `users`: {"id", "session", "csrf", "frames": [frame ids]}."""
    pauses = random.Random(len(users))
    writers = [Writer(server.port, user, https=https) for user in users]
    results = [WriteResult(saved={user["id"]: set()}) for user in users]
    start = threading.Barrier(len(writers) + 1)
    boots, recycles = server.worker_boots(), server.recycles()
    began = [0.0]

    def run(writer: Writer, result: WriteResult) -> None:
        saved = result.saved[writer.user["id"]]
        frames = writer.user["frames"]
        start.wait()
        deadline = began[0] + seconds
        for n in range(MAX_REQUESTS // len(writers)):
            if time.perf_counter() >= deadline:
                break
            if pause_s and n % 5 == 4:
                time.sleep(pauses.uniform(0, pause_s))
            frame = frames[n % len(frames)]
            if n % 4 == 3:
                method, path = "GET", "/inspire/random.json"
            else:
                method, path = "POST", f"/frames/{frame}/{'unsave' if frame in saved else 'save'}"
            sent = time.perf_counter()
            try:
                status, body = writer.request(method, path)
            except (OSError, http.client.HTTPException) as exc:
                result.resets[f"{type(exc).__name__} ({writer.failed_on})"] += 1
                writer.close()
                continue
            if not 200 <= status < 300:
                result.statuses[status] += 1
                continue
            result.latencies.append(time.perf_counter() - sent)
            if method == "GET":
                result.reads += 1
            elif json.loads(body)["saved"]:
                result.saves += 1
                saved.add(frame)
            else:
                result.removes += 1
                saved.discard(frame)

    threads = [
        threading.Thread(target=run, args=pair, daemon=True) for pair in zip(writers, results, strict=True)
    ]
    for thread in threads:
        thread.start()
    began[0] = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join(seconds + 2 * TIMEOUT_S + 5)
    total = WriteResult(
        seconds=time.perf_counter() - began[0],
        worker_boots=server.worker_boots() - boots,
        recycles=server.recycles() - recycles,
    )
    for writer in writers:
        writer.close()
        total.retried += writer.retried
    for result in results:
        total.latencies += result.latencies
        total.saves += result.saves
        total.removes += result.removes
        total.reads += result.reads
        total.resets.update(result.resets)
        total.statuses.update(result.statuses)
        total.saved.update(result.saved)
    return total
