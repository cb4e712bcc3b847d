"""What a batch of emails costs PostgreSQL: each email's mark is one statement that commits
itself (autocommit), not BEGIN, UPDATE, COMMIT; the batch opens transactions only for its claim
and its reads, whatever its size."""
import psycopg
from sqlalchemy import select

from komet.extensions import db
from komet.mail import outbox
from komet.models import Email, EmailStatus


def test_a_batch_of_ten_emails_opens_two_transactions_not_one_per_email(app, make, smtp_sink, monkeypatch):
    user = make.staff(make.company())
    with app.app_context():
        ids = [outbox.queue_email("password_changed", f"trip{n}@example.com", user_id=user.id).id for n in range(10)]
        db.session.commit()
    commands = []
    exec_command = psycopg.Connection._exec_command

    def spy(self, command, *args, **kwargs):
        commands.append(bytes(command).split()[0].upper())
        return exec_command(self, command, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "_exec_command", spy)
    with app.app_context():
        assert outbox.deliver_many(ids) == set(ids)
    monkeypatch.undo()
    assert commands.count(b"BEGIN") == 2, commands  # the claim's, the reads'; none per email
    assert len(smtp_sink.messages()) == 10
    with app.app_context(), db.engine.connect() as other:  # committed, as another process reads it
        assert set(other.scalars(select(Email.status).where(Email.id.in_(ids)))) == {EmailStatus.SENT}
