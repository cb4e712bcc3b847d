"""The CSV import actor: takes an import id, resumes where it stopped, safe to run twice."""
import dramatiq

from komet.accounts import imports


@dramatiq.actor(actor_name=imports.RUN_IMPORT_ACTOR, queue_name=imports.IMPORT_QUEUE, max_retries=3,
                min_backoff=5_000, time_limit=30 * 60 * 1000)
def run_user_import(import_id):
    imports.run(import_id)
