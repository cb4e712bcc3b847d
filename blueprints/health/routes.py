from flask import jsonify

from blueprints.health import bp
from komet.ops import health
from komet.ops import metrics as metrics_module


@bp.get("/healthz")
def healthz():
    # The process answers: nothing else is touched, so a database outage never gets a
    # healthy web process restarted.
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    problems = health.readiness()
    failing = {name: problem for name, problem in problems.items() if problem}
    body = {"status": "unavailable" if failing else "ok",
            "checks": {name: problem or "ok" for name, problem in problems.items()}}
    return jsonify(body), 503 if failing else 200


@bp.get("/metrics")
def metrics():
    # Scraped by Prometheus from inside the network; keep it off the public proxy (README).
    body, content_type = metrics_module.exposition()
    return body, 200, {"Content-Type": content_type}
