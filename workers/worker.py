"""Entry point of the worker process: `dramatiq workers.worker`."""
from workers import worker_metrics

worker_metrics.prepare_process()  # before create_app imports prometheus_client

import dramatiq  # noqa: E402

from komet import create_app  # noqa: E402
from workers import actors  # noqa: E402
from workers.middleware import AppContextMiddleware, HeartbeatMiddleware  # noqa: E402

app = create_app()  # sets up the broker, on which the actors are then declared
actors.declare()
dramatiq.get_broker().add_middleware(AppContextMiddleware(app))
heartbeat = HeartbeatMiddleware(app)
heartbeat.forget_when_terminated()
dramatiq.get_broker().add_middleware(heartbeat)
if app.config["WORKER_METRICS_PORT"]:
    dramatiq.get_broker().add_middleware(worker_metrics.WorkerMetrics())
