"""Email actors: they take an outbox row id and are safe to run twice."""
import dramatiq

from komet import outbox


@dramatiq.actor(queue_name="emails", max_retries=6, min_backoff=5_000, max_backoff=300_000,
                time_limit=120_000)
def send_email(email_id):
    outbox.deliver(email_id)
