"""Broker set-up, and the one place that declares the actors.

Actors bind to the broker that is current when they are declared, so `setup_broker` sets
the broker first and then imports the actor modules. Producers in komet/ name an actor
through the broker (`get_broker().get_actor(name)`) and never import workers/.
"""
import importlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dramatiq
from dramatiq.brokers.stub import StubBroker

ACTOR_MODULES = ("workers.emails", "workers.imports")
_current = {}


def make_broker(url, namespace="komet"):
    if url.startswith("stub"):
        return StubBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        # Short timeouts: a request that enqueues must not hang when Redis is away
        # (the outbox re-drive sends the email later).
        return RedisBroker(url=url, namespace=namespace, socket_timeout=5, socket_connect_timeout=2)
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        # dramatiq 2 refuses pika keyword parameters next to a URL; pika reads them from its query.
        parts = urlsplit(url)
        query = {"connection_attempts": "1", "socket_timeout": "5", **dict(parse_qsl(parts.query))}
        return RabbitmqBroker(url=urlunsplit(parts._replace(query=urlencode(query))))
    raise RuntimeError(f"BROKER_URL must be redis://, amqp:// or stub://, not {url!r}")


def setup_broker(url, namespace="komet"):
    """Make the broker for `url` the global one; the same call again is a no-op."""
    key = (url, namespace)
    if _current.get("key") == key:
        return _current["broker"]
    if _current:
        raise RuntimeError(f"the broker is already set to {_current['key']}; one per process")
    broker = make_broker(url, namespace)
    dramatiq.set_broker(broker)
    _current.update(key=key, broker=broker)
    for module in ACTOR_MODULES:
        importlib.import_module(module)
    return broker
