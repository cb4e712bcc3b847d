"""What the access log, the metrics and the security headers cost a request, in CPU µs.

Runs in one process, on the seeded bench database (bench/messages_bench.py seeds it), with the
production settings (JSON log lines, here written to /dev/null): a buyer logs in, then line
(e)'s request (the session check alone, a redirect) is made through the WSGI app again and
again. Two measures, both in this one run:

* A/B: CPU per request with every hook, and with one hook taken off, in turns (R rounds of N
  requests each, the order rotated every round), medians; the hook's cost is the difference.
* alone: the hook function itself called N times on a finished response inside the request,
  CPU per call. Steadier than a difference of two medians on a shared machine.

    BENCH_DATABASE_URL=... python -m bench.request_hooks
"""
import logging
import os
import re
import statistics
import time

from flask import g

from bench.messages_bench import BROWSER, CUSTOMERS, DB_URL, PASSWORD, app_env

ROUNDS = int(os.environ.get("BENCH_HOOK_ROUNDS", "7"))
REQUESTS = int(os.environ.get("BENCH_HOOK_REQUESTS", "1000"))


def _app():
    os.environ.update(app_env(DB_URL))
    from komet import create_app

    app = create_app()
    for handler in logging.getLogger().handlers:
        handler.setStream(open(os.devnull, "w"))
    return app


def _hooks(app):
    """name -> [(hook list, function)] of each measured hook, as registered on the app."""
    from komet.ops import metrics
    from komet.web import security

    before, after = app.before_request_funcs[None], app.after_request_funcs[None]
    by_name = {f.__name__: f for f in before + after}
    return {"access log": [(before, by_name["_take_request_id"]), (after, by_name["_log_request"])],
            "metrics": [(before, metrics._start_timer), (after, metrics._count)],
            "security headers": [(after, security._security_headers)]}


def _logged_in_client(app):
    client = app.test_client()
    headers = {"User-Agent": BROWSER}
    page = client.get("/login", headers=headers).data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = client.post("/login", headers=headers, data={"csrf_token": token, "password": PASSWORD,
                                                         "email": f"buyer{CUSTOMERS}@bench.example"})
    assert answer.status_code == 303, answer.status_code
    return client


def _cpu_per_request(client, n=REQUESTS):
    started = time.process_time()
    for _ in range(n):
        client.get("/shop/messages", headers={"User-Agent": BROWSER})
    return (time.process_time() - started) / n * 1e6


def a_b(app, client):
    hooks = _hooks(app)
    variants = ["every hook", *hooks]
    samples = {v: [] for v in variants}
    _cpu_per_request(client, 300)  # warm: prepared statements, caches
    for round_ in range(ROUNDS):
        for variant in variants[round_ % len(variants):] + variants[:round_ % len(variants)]:
            taken = hooks.get(variant, [])
            positions = [(funcs, funcs.index(f), f) for funcs, f in taken]
            for funcs, _, f in positions:
                funcs.remove(f)
            try:
                samples[variant].append(_cpu_per_request(client))
            finally:
                for funcs, at, f in positions:
                    funcs.insert(at, f)
    return samples


def alone(app, client):
    """CPU µs per call of each after-request hook, on a finished response of line (e)'s request."""
    hooks = _hooks(app)
    costs = {}
    cookie = "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())
    with app.test_request_context("/shop/messages", headers={"User-Agent": BROWSER, "Cookie": cookie}):
        app.preprocess_request()
        response = app.make_response(("", 302, {"Location": "/shop/"}))
        for name, pairs in hooks.items():
            after = [f for funcs, f in pairs if funcs is app.after_request_funcs[None]]
            before = [f for funcs, f in pairs if funcs is app.before_request_funcs[None]]
            started = time.process_time()
            for _ in range(REQUESTS * 5):
                g.pop("_komet_rid_token", None)  # as at the start of a request
                for f in before:
                    f()
                for f in after:
                    f(response)
                response.headers.clear()
            costs[name] = (time.process_time() - started) / (REQUESTS * 5) * 1e6
    return costs


def main():
    app = _app()
    client = _logged_in_client(app)
    samples = a_b(app, client)
    direct = alone(app, client)
    print(f"\nline (e)'s request in one process, {ROUNDS} rounds of {REQUESTS}, load {os.getloadavg()[0]:.1f} at the end")
    print(f"{'':<26}{'CPU µs/request (median, spread)':>32}{'A/B cost':>10}{'alone':>8}")
    every = statistics.median(samples["every hook"])
    for name in samples:
        cost = "" if name == "every hook" else f"{every - statistics.median(samples[name]):>10.0f}{direct[name]:>8.1f}"
        label = name if name == "every hook" else f"without {name}"
        print(f"{label:<26}{statistics.median(samples[name]):>20.0f} ({min(samples[name]):.0f}-{max(samples[name]):.0f}){cost}")


if __name__ == "__main__":
    main()
