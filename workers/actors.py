"""The one place that declares the actors, on the broker `create_app` has set up (actors bind to
the broker current when they are declared). Only the worker, and tests that run actors in
process, need them: producers enqueue by name (`komet.broker.send`)."""
import importlib

ACTOR_MODULES = ("workers.emails", "workers.imports")


def declare():
    for module in ACTOR_MODULES:
        importlib.import_module(module)
