"""CSV import of e-commerce users: the checked upload, its start, and the run the worker does.

The dry run (import_rows.py) decides each row's verdict with a handful of queries for the
whole file; the run applies the rows in the worker, a batch per transaction with a fixed
number of set-based statements (import_batches.py), so an invalid row never blocks the
others. Rows are matched by email: running the same file again changes nothing.
"""
import logging
import queue
import threading

from flask import current_app
from sqlalchemy import select, update

from komet import audit, broker
from komet.accounts import import_batches
from komet.accounts.import_rows import BadFile, dry_run, parse  # noqa: F401 (BadFile: the upload's error)
from komet.clock import utcnow
from komet.extensions import db
from komet.mail import outbox
from komet.models import ImportStatus, UserImport

log = logging.getLogger(__name__)
# Named, not imported: workers/imports.py declares it (komet never imports workers).
RUN_IMPORT_ACTOR, IMPORT_QUEUE = "run_user_import", "imports"
TEMPLATE = "name,email,username,customer\nAda Lovelace,ada@example.com,ada,Rose Café\n"
BATCH = 500
VERDICTS = {"created": "New login created", "linked": "Linked to an existing login", "customer": "Customer added",
            "unchanged": "Already an e-commerce user here: unchanged", "refused": "Refused"}


def check(company_id, actor_id, filename, data):
    """Parse and dry-run an upload; the import waits for staff to confirm it. Raises BadFile."""
    rows = dry_run(company_id, parse(data, current_app.config["USER_IMPORT_MAX_ROWS"]))
    record = UserImport(company_id=company_id, created_by_id=actor_id, filename=(filename or "")[:255], rows=rows,
                        total=len(rows), status=ImportStatus.CHECKED)
    db.session.add(record)
    db.session.commit()
    return record


def counts(record):
    found = {verdict: 0 for verdict in VERDICTS}
    for row in record.rows:
        found[row.get("outcome") or row["verdict"]] += 1
    return found


def start(record):
    """Hand a checked import to the worker (once: a second click finds it already queued)."""
    started = db.session.execute(update(UserImport).where(UserImport.id == record.id,
                                                          UserImport.status == ImportStatus.CHECKED)
                                 .values(status=ImportStatus.QUEUED)).rowcount
    db.session.commit()
    if started:
        try:
            broker.send(RUN_IMPORT_ACTOR, IMPORT_QUEUE, record.id)
        except Exception:
            log.warning("could not enqueue import %s", record.id, exc_info=True)
    db.session.refresh(record)
    return bool(started)


def run(import_id):
    """Apply an import's rows from where it stopped, a batch per transaction.

    Safe to run twice, even at once: each batch is claimed before it is applied, and its rows'
    outcomes commit with its changes, so a retried or resumed import reports what the first
    attempt did and its totals are the dry run's (when nothing changed in between).
    """
    record = db.session.get(UserImport, import_id)
    if record is None:
        return
    company_id, actor_id = record.company_id, record.created_by_id
    # Conditional: another run of the same import may have ended it since it was read.
    running = db.session.execute(update(UserImport).where(UserImport.id == import_id,
                                                          UserImport.status != ImportStatus.DONE)
                                 .values(status=ImportStatus.RUNNING)).rowcount
    db.session.commit()
    if not running:
        return
    handoff = _EmailHandoff()
    try:
        while (batch := _claim_batch(import_id)) is not None:
            start_at, rows = batch
            chunk = rows[start_at:start_at + BATCH]
            results, emails = import_batches.apply(company_id, actor_id, chunk)
            for row, (outcome, reason) in zip(chunk, results):
                # The dry run's reason still explains an outcome it foresaw.
                row["outcome"], row["reason"] = outcome, row["reason"] if outcome == row["verdict"] else reason
            db.session.execute(update(UserImport).where(UserImport.id == import_id).values(rows=rows))
            db.session.commit()
            handoff.put(emails)
        _finish(record)
    except BaseException:
        db.session.rollback()  # a batch is all or nothing
        raise
    finally:
        handoff.close()


class _EmailHandoff:
    """Hands each committed batch's activation emails to the broker in a thread of its own,
    while the next batch runs: a round trip to the broker per email would otherwise be half
    of an import's time. An email the broker does not take is re-driven from the outbox."""

    def __init__(self):
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._send, name="import-email-handoff", daemon=True)
        self._thread.start()

    def put(self, emails):
        self._queue.put(emails)

    def close(self):
        self._queue.put(None)
        self._thread.join()

    def _send(self):
        while (emails := self._queue.get()) is not None:
            for email_id, trace_id in emails:
                outbox.enqueue(email_id, trace_id)


def _claim_batch(import_id):
    """(first row, every row) of the next batch, claimed in the current transaction; None when done.

    Claiming first takes the import's row lock (the write lock, on SQLite): a second run of
    the same import waits here, then finds the batch done and moves on.
    """
    while True:
        processed, total = db.session.execute(select(UserImport.processed, UserImport.total)
                                              .where(UserImport.id == import_id)).one()
        if processed >= total:
            return None
        claimed = db.session.execute(update(UserImport).where(UserImport.id == import_id,
                                                              UserImport.processed == processed)
                                     .values(processed=min(processed + BATCH, total))).rowcount
        if claimed:
            return processed, [dict(row) for row in db.session.scalar(select(UserImport.rows)
                                                                      .where(UserImport.id == import_id))]
        db.session.rollback()


def _finish(record):
    db.session.refresh(record)
    found = counts(record)
    finished = db.session.execute(update(UserImport).where(UserImport.id == record.id,
                                                           UserImport.status != ImportStatus.DONE).values(
        status=ImportStatus.DONE, finished_at=utcnow(), created=found["created"], linked=found["linked"],
        refused=found["refused"])).rowcount
    if finished:  # once, whichever run ends it
        audit.record("import_run", f"{record.filename}: {found['created']} created, {found['linked']} linked, "
                     f"{found['customer']} customers added, {found['unchanged']} unchanged, {found['refused']} refused",
                     company_id=record.company_id, actor_id=record.created_by_id)
    db.session.commit()
