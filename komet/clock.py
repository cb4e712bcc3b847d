"""The one source of "now", so rules can be tested with a fixed clock."""
from datetime import datetime, timezone


def utcnow():
    return datetime.now(timezone.utc)
