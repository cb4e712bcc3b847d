"""Entry point of the worker process: `dramatiq workers.worker`."""
import dramatiq

from komet import create_app
from workers.middleware import AppContextMiddleware

app = create_app()
dramatiq.get_broker().add_middleware(AppContextMiddleware(app))

import workers.emails  # noqa: E402,F401  (actors are declared after the broker is set)
