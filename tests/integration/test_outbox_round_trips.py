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


def test_a_batch_of_activation_emails_reads_its_links_logins_and_sellers_in_one_query(app, make, smtp_sink, queries):
    from sqlalchemy import update

    from komet.models import Company, EcommerceUser, LinkStatus

    sellers = [make.company(), make.company()]
    accounts = [make.ecommerce_user(sellers[n % 2], status=LinkStatus.PENDING) for n in range(4)]
    with app.app_context():
        db.session.execute(update(EcommerceUser).where(EcommerceUser.id.in_([a.id for a in accounts]))
                           .values(status=LinkStatus.PENDING, activation_nonce="n0nce"))
        ids = [outbox.queue_email("activation", a.email, company_id=a.company_id, account_id=a.id).id
               for a in accounts]
        db.session.commit()
        names = {seller.id: db.session.get(Company, seller.id).name for seller in sellers}
    with queries, app.app_context():
        assert outbox.deliver_many(ids) == set(ids)
    selects = [s for s in queries.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, selects  # not one each for the links, their logins and their sellers
    sent = {m["To"]: m for m in smtp_sink.messages()}
    for account in accounts:
        assert names[account.company_id] in sent[account.email]["Subject"]
