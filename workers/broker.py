"""Broker set-up. Runs before any actor module is imported: actors bind to the broker
that is current when they are declared."""
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

        return RabbitmqBroker(url=url, connection_attempts=1, socket_timeout=5)
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
    return broker
