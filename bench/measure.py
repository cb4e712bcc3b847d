"""The bench's measuring kit: wrk runs, with the CPU per request (from /proc) of the server's
processes and of its database backends, the load average before each run, and the printed line."""
import os
import re
import socket
import subprocess
from typing import NamedTuple

DURATION = os.environ.get("BENCH_DURATION", "5s")
# Each line is measured in rounds, the floor and the page in turns (F P, P F, F P): the machine's
# speed drifts over minutes, so a floor measured once at the start made a page's ratio depend on
# when it ran. The printed line is the round with the median ratio.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Log in and load with the same headers, as a browser does: Flask-Login's session protection
# re-signs and re-sends the cookie on every request whose User-Agent differs from the login's,
# which no browser triggers and which inflated every logged-in figure.
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wrk_output(url, cookie, headers, duration, redirect):
    args = ["wrk", "-t2", "-c8", f"-d{duration}", "--latency", url]
    for header in ([f"Cookie: {cookie}"] if cookie else []) + [f"User-Agent: {BROWSER}", *headers]:
        args[1:1] = ["-H", header]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    # The poll's 204 counts as 2xx; `redirect`: every answer is the 3xx that pages() checked.
    if "Non-2xx" in out and not redirect:
        raise RuntimeError(f"errors while measuring {url}:\n{out}")
    return out


def wrk(url, cookie=None, *headers, duration=DURATION, redirect=False):
    out = _wrk_output(url, cookie, headers, duration, redirect)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1)
    return rps, p50


class Run(NamedTuple):
    rps: float
    p50: str
    cpu_ms: float  # CPU per request: the server's gunicorn processes and its database's backends
    load: float  # the 1-minute load average just before the run


def _cpu_ticks(server):
    """{pid: utime + stime} of `server`'s gunicorn processes and of the PostgreSQL backends
    connected to its database (their process title names it)."""
    ticks = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                comm, _, rest = f.read().partition(" (")[2].rpartition(") ")
            fields = rest.split()
            mine = server.process.pid in (int(entry.name), int(fields[1]))
            if not mine and comm == "postgres":
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    mine = server.database in f.read().decode(errors="replace").split()
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if mine:
            ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    return ticks


def measure(server, url, cookie=None, *headers, duration=DURATION, redirect=False):
    """One wrk run against `server`, with its CPU per request (from /proc) and the load before it."""
    load = os.getloadavg()[0]
    before = _cpu_ticks(server)
    out = _wrk_output(url, cookie, headers, duration, redirect)
    after = _cpu_ticks(server)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    ticks = sum(t - before.get(pid, 0) for pid, t in after.items())
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1)
    return Run(rps, p50, ticks * 1000 / CLOCK_TICKS / max(requests, 1), load)


class Paired(NamedTuple):
    page: Run
    floor: Run  # the floor's run of the same round


def paired(floor, floor_url, server, url, cookie=None, *headers, redirect=False, rounds=ROUNDS):
    """`url` on `server` and `floor_url` on `floor` measured in turns over `rounds` rounds; the
    round whose req/s ratio is the median, as (page run, floor run)."""
    measured = []
    for n in range(rounds):
        both = {}
        for side in (("floor", "page") if n % 2 == 0 else ("page", "floor")):
            if side == "floor":
                both[side] = measure(floor, floor_url)
            else:
                both[side] = measure(server, url, cookie, *headers, redirect=redirect)
        measured.append(Paired(both["page"], both["floor"]))
    measured.sort(key=lambda r: r.page.rps / r.floor.rps)
    return measured[len(measured) // 2]


HEADER = f"{'page':<42}{'req/s':>9}{'p50':>9}{'CPU ms/req':>11}{'load':>6}{'ratio':>7}{'CPU ratio':>10}  target"


def result_line(label, run, floor, target=None):
    """One printed line: req/s, p50, CPU per request and the load before the run, the req/s ratio
    and the CPU ratio (floor's CPU per request / this one's) to `floor`, and the verdict on the
    req/s ratio."""
    ratio, cpu_ratio = run.rps / floor.rps, floor.cpu_ms / run.cpu_ms if run.cpu_ms else 0
    verdict = "" if target is None else f">= {target}: {'met' if ratio >= target else 'MISSED'}"
    return (f"{label:<42}{run.rps:>9.1f}{run.p50:>9}{run.cpu_ms:>11.2f}{run.load:>6.1f}{ratio:>7.2f}"
            f"{cpu_ratio:>10.2f}  {verdict}")
