"""`flask --app wsgi crm bench load`: many signed-in staff against a real server.

Starts gunicorn on 127.0.0.1 on a free port (or targets `--url`), signs in `--users` bench
users of mixed roles (the `scale_*` account managers, regional managers and sales managers of
`crm bench-data`), and has each run the staff's daily mix — the customer list, a search, a
customer's card, page 2 and now and then a contact-log entry — back to back, until `--seconds`
have passed or `--max-requests` were sent. Reports requests a second and the 50th/95th/99th
percentile and errors per step and role, as a table and (`--json PATH`) as JSON.

The clients are threads of this process speaking HTTP with the standard library (one cookie
jar each); they wait on the server almost all the time, so the server is what is measured.
"""

import http.cookiejar
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import click
from sqlalchemy import select

from crm import access
from crm.auth.models import User
from crm.bench import bench
from crm.bench.data import PASSWORD
from crm.clients.models import Client
from crm.extensions import db

# The staff's day: what a request is, by weight.
MIX = (("list", 30), ("search", 25), ("card", 25), ("page 2", 15), ("contact log", 5))
# The staff who work in the customer lists all day (the field sales and their managers).
ROLES = tuple(sorted(access.SALES))
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, round(q * (len(sorted_ms) - 1)))]


def pick_users(n: int) -> list[dict]:
    """`n` bench users, the roles of ROLES in turn (as many of each as there are), each with a
    sample of the customers they see: search terms and card ids."""
    by_role = {
        role: db.session.scalars(
            select(User)
            .where(User.role == role, User.active.is_(True), User.username.like("scale_%"))
            .order_by(User.id)
        ).all()
        for role in ROLES
    }
    if not any(by_role.values()):
        raise click.ClickException("no bench users: run `flask --app wsgi crm bench-data` first")
    chosen, i = [], 0
    while len(chosen) < n:
        role = ROLES[i % len(ROLES)]
        pool = by_role[role] or next(v for v in by_role.values() if v)
        chosen.append(pool[(i // len(ROLES)) % len(pool)])
        i += 1
    out = []
    for user in chosen:
        query = select(Client.id, Client.name, Client.short_name, Client.mobile).where(
            Client.deleted_at.is_(None)
        )
        if user.role == access.ACCOUNT_MANAGER:
            query = query.where(Client.owner_id == user.id)
        elif user.role == access.REGIONAL_MANAGER:
            query = query.where(Client.region_id == user.region_id)
        rows = db.session.execute(query.order_by(Client.id.desc()).limit(50)).all()
        terms = []
        for row in rows:
            name = row.short_name or row.name
            terms += [name, name[:2], name[:1]] + ([row.mobile[-8:]] if row.mobile else [])
        out.append(
            {
                "username": user.username,
                "role": user.role,
                "ids": [r.id for r in rows],
                "terms": terms or ["a"],
            }
        )
    return out


class StaffClient:
    """One signed-in member of staff: a cookie jar and the steps of the mix."""

    def __init__(self, base: str, person: dict, password: str, timeout: float):
        self.base, self.person, self.timeout = base.rstrip("/"), person, timeout
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        self.rng = random.Random(person["username"])

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=self.timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def csrf(self, path: str) -> tuple[int, str | None]:
        status, html = self.request(path)
        match = _CSRF.search(html)
        return status, (match.group(1) or match.group(2)) if match else None

    def sign_in(self, password: str) -> None:
        _status, token = self.csrf("/login")
        status, _html = self.request(
            "/login",
            {"username": self.person["username"], "password": password, "csrf_token": token or ""},
        )
        if status != 302:
            raise click.ClickException(
                f"cannot sign in as {self.person['username']} "
                f"(HTTP {status}; the bench users' password is "
                f"{PASSWORD})"
            )
        status, _token = self.csrf("/admin/contactlog/new/")
        self.writes = status == 200 and bool(self.person["ids"])

    def step(self, name: str) -> tuple[int, str]:
        ids, terms = self.person["ids"], self.person["terms"]
        if name == "list":
            return self.request("/admin/client/")
        if name == "page 2":
            return self.request("/admin/client/?page=1")
        if name == "search":
            return self.request(
                "/admin/client/?" + urllib.parse.urlencode({"search": self.rng.choice(terms)})
            )
        if name == "card":
            if not ids:
                return self.request("/admin/client/")
            return self.request(f"/admin/client/details/?id={self.rng.choice(ids)}")
        # contact log: the form, then the entry (two requests, timed as one step)
        status, token = self.csrf("/admin/contactlog/new/")
        if status != 200:
            return status, ""
        return self.request(
            "/admin/contactlog/new/",
            {
                "csrf_token": token or "",
                "client": self.rng.choice(ids),
                "contact_date": time.strftime("%Y-%m-%d"),
                "way": "phone",
                "person_met": "负责人",
                "record": "压测回访记录",
                "level": "B",
            },
        )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is an answer here (sign-in, a saved form)


def ok(step: str, status: int) -> bool:
    return status == 302 if step == "contact log" else status == 200


def run_load(
    base: str,
    people: list[dict],
    seconds: float,
    max_requests: int,
    password: str = PASSWORD,
    timeout: float = 30.0,
    seed: int = 2026,
) -> dict:
    clients = [StaffClient(base, p, password, timeout) for p in people]
    for c in clients:
        c.sign_in(password)
    samples: dict[tuple[str, str], list[float]] = defaultdict(list)
    # per step and role, the failed requests by HTTP status (0: no answer in time)
    errors: dict[tuple[str, str], Counter] = defaultdict(Counter)
    lock = threading.Lock()
    sent = [0]
    steps, weights = zip(*MIX, strict=True)
    start = time.perf_counter()
    deadline = start + seconds

    def work(c: StaffClient, rng: random.Random):
        while time.perf_counter() < deadline:
            with lock:
                if sent[0] >= max_requests:
                    return
                sent[0] += 1
            step = rng.choices(steps, weights)[0]
            if step == "contact log" and not c.writes:
                step = "list"
            t0 = time.perf_counter()
            try:
                status, _body = c.step(step)
            except (OSError, urllib.error.URLError):
                status = 0
            ms = (time.perf_counter() - t0) * 1000
            key = (step, c.person["role"])
            with lock:
                samples[key].append(ms)
                if not ok(step, status):
                    errors[key][status] += 1

    threads = [
        threading.Thread(target=work, args=(c, random.Random(seed + i)), daemon=True)
        for i, c in enumerate(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout + 5)
    elapsed = time.perf_counter() - start
    return summarise(samples, errors, elapsed, len(clients))


def _figures(ms: list[float], errs: Counter, elapsed: float) -> dict:
    ms = sorted(ms)
    return {
        "requests": len(ms),
        "per_s": round(len(ms) / elapsed, 1) if elapsed else 0,
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "errors": sum(errs.values()),
        "error_statuses": {str(status): n for status, n in sorted(errs.items())},
    }


def summarise(samples, errors, elapsed: float, users: int) -> dict:
    """`errors`: {(step, role): Counter of the failed requests' HTTP statuses}."""
    every = [m for v in samples.values() for m in v]
    rows = {
        f"{step} | {role}": _figures(ms, errors.get((step, role), Counter()), elapsed)
        for (step, role), ms in sorted(samples.items())
    }
    return {
        "users": users,
        "seconds": round(elapsed, 1),
        "total": _figures(every, sum(errors.values(), Counter()), elapsed),
        "steps": rows,
    }


def _statuses(figures: dict) -> str:
    """ " (HTTP 500 ×2, no answer ×1)" after a count of errors, or nothing."""
    parts = [
        f"{'no answer' if status == '0' else 'HTTP ' + status} ×{n}"
        for status, n in figures["error_statuses"].items()
    ]
    return f" ({', '.join(parts)})" if parts else ""


def start_server(workers: int, threads: int, log: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn (gthread) on a free loopback port, on this process's database, until ready."""
    port = free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "CRM_SECURE_COOKIES": "0",
    }  # plain http on the loopback
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "120",
        "wsgi:app",
    ]
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=str(Path(__file__).resolve().parents[2]),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            raise click.ClickException(f"gunicorn stopped at start; see {log}")
        try:
            with urllib.request.urlopen(base + "/login", timeout=2):
                return proc, base
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    stop_server(proc)
    raise click.ClickException(f"gunicorn did not answer in 60 s; see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the master and its workers
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@bench.command("load")
@click.option("--users", default=20, show_default=True, help="Signed-in staff at once.")
@click.option("--seconds", default=60.0, show_default=True, help="How long they work.")
@click.option(
    "--max-requests",
    default=100_000,
    show_default=True,
    help="Stop after this many requests, whichever comes first.",
)
@click.option("--url", default=None, help="A running server (default: start gunicorn).")
@click.option(
    "--workers",
    default=os.cpu_count() or 2,
    show_default=True,
    help="gunicorn worker processes (when started here): one a core.",
)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    help="Threads a gunicorn worker: overlap a request's database waits.",
)
@click.option("--password", default=PASSWORD, show_default=True)
@click.option(
    "--json",
    "json_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write the figures to this JSON file.",
)
def load_bench(users, seconds, max_requests, url, workers, threads, password, json_path):
    """Sign in N staff of mixed roles and run the daily mix against a server."""
    people = pick_users(users)
    db.session.remove()
    proc = None
    if url is None:
        from flask import current_app

        log = Path(current_app.instance_path) / "bench-load-gunicorn.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        proc, url = start_server(workers, threads, log)
        click.echo(f"gunicorn -w {workers} --threads {threads} on {url} (log {log})")
    try:
        result = run_load(url, people, seconds, max_requests, password)
    finally:
        if proc is not None:
            stop_server(proc)
    result.update(
        url=url,
        workers=workers if proc else None,
        threads=threads if proc else None,
        load_average=os.getloadavg()[0],
        cores=os.cpu_count(),
    )
    t = result["total"]
    click.echo(
        f"\nload: {result['users']} users, {result['seconds']} s, "
        f"{t['requests']} requests, {t['per_s']} requests/s, p50 {t['p50_ms']} ms, "
        f"p95 {t['p95_ms']} ms, p99 {t['p99_ms']} ms, {t['errors']} errors{_statuses(t)} "
        f"(load average {result['load_average']:.1f} on {result['cores']} cores)"
    )
    width = max((len(k) for k in result["steps"]), default=10)
    for name, f in result["steps"].items():
        click.echo(
            f"  {name:<{width}}  {f['requests']:6d} req  {f['per_s']:6.1f}/s  "
            f"p50 {f['p50_ms']:7.1f}  p95 {f['p95_ms']:7.1f}  p99 {f['p99_ms']:7.1f} ms"
            f"  {f['errors']} errors{_statuses(f)}"
        )
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2, ensure_ascii=False))
        click.echo(f"  (written to {json_path})")
