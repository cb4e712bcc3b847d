"""`flask emails ...`: the operator's view of failed emails, including those of no company
(password resets), which no company's Emails page shows."""
import click
from flask.cli import AppGroup

from komet.mail import outbox

emails_cli = AppGroup("emails", help="List and retry failed outgoing emails.")


@emails_cli.command("failed")
@click.option("--limit", default=100, show_default=True, help="How many, newest first.")
def failed(limit):
    """List failed emails: id, company (or "-"), kind, recipient, attempts, last error."""
    rows = outbox.failed_emails(limit)
    for email in rows:
        click.echo(f"{email.id}\t{email.company_id or '-'}\t{email.kind}\t{email.to_address}\t"
                   f"{email.attempts}\t{(email.last_error or '').splitlines()[0][:120] if email.last_error else ''}")
    if not rows:
        click.echo("No failed emails.")


@emails_cli.command("retry")
@click.argument("email_ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Retry every failed email.")
def retry(email_ids, retry_all):
    """Queue failed emails again (by id, or --all)."""
    if retry_all:
        email_ids = [email.id for email in outbox.failed_emails(limit=None)]
    if not email_ids:
        raise click.UsageError("give one or more email ids, or --all")
    for email_id in email_ids:
        queued = outbox.retry_by_id(email_id)
        click.echo(f"{email_id}: {'queued again' if queued else 'not failed (left as it is)'}")


def init_app(app):
    app.cli.add_command(emails_cli)
