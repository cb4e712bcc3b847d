"""Entry point of the worker process: `dramatiq workers.worker`."""
import os

import dramatiq

from komet import create_app
from workers import actors
from workers.middleware import AppContextMiddleware, HeartbeatMiddleware

app = create_app()  # sets up the broker, on which the actors are then declared
actors.declare()
dramatiq.get_broker().add_middleware(AppContextMiddleware(app))
dramatiq.get_broker().add_middleware(HeartbeatMiddleware(app))

if os.environ.get("WORKER_METRICS", "").lower() in {"1", "true", "yes", "on"}:
    # dramatiq's own middleware: messages processed, failed, retried, in progress and their
    # duration, served by a process it forks on dramatiq_prom_port (9191). Opt-in, because two
    # worker processes on one machine would fight for the port.
    from dramatiq.middleware.prometheus import Prometheus

    dramatiq.get_broker().add_middleware(Prometheus())
