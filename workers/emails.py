"""Email actors: they take outbox row ids and are safe to run twice."""
import dramatiq

from komet.mail import outbox


# SMTP failures are not retried here: deliver() records them and the scheduler's re-drive
# tries again with backoff (one driver, one budget; see komet/mail/outbox.py). These few
# retries are for the worker's own trouble, e.g. the database briefly away.
@dramatiq.actor(actor_name=outbox.SEND_EMAIL_ACTOR, queue_name=outbox.EMAIL_QUEUE, max_retries=3,
                min_backoff=5_000, max_backoff=60_000, time_limit=120_000)
def send_email(email_ids):
    # A list of ids since one message carries a batch; a message queued before that, one id.
    outbox.deliver_many(email_ids if isinstance(email_ids, list) else [email_ids])
