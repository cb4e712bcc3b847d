"""The broker, set up once per process, and `send`, which enqueues a message for an actor by name.

Producers in komet/ never import workers/: the web process and the scheduler only enqueue,
so they need the broker and the queues, not the actors. The worker declares the actors on
this broker afterwards (`workers.actors`); they bind to the broker current when declared,
which is why `create_app` sets it up first.
"""
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dramatiq
from dramatiq.brokers.stub import StubBroker

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


def setup_broker(url, namespace="komet", queues=()):
    """Make the broker for `url` the global one and declare `queues` on it (so health checks and
    metrics see them before anything is sent); the same call again is a no-op."""
    key = (url, namespace)
    if _current.get("key") == key:
        return _current["broker"]
    if _current:
        raise RuntimeError(f"the broker is already set to {_current['key']}; one per process")
    broker = make_broker(url, namespace)
    dramatiq.set_broker(broker)
    _current.update(key=key, broker=broker)
    for queue in queues:
        broker.declare_queue(queue)
    return broker


def send(actor_name, queue_name, *args, options=None):
    """Enqueue a message for the actor named `actor_name` (declared in the worker) on its queue;
    the broker's middleware runs as for `actor.send`. Raises what the broker raises."""
    broker = dramatiq.get_broker()
    broker.declare_queue(queue_name)  # a no-op once declared
    return broker.enqueue(dramatiq.Message(queue_name=queue_name, actor_name=actor_name, args=args,
                                           kwargs={}, options=dict(options or {})))
