"""Search boxes: what a person types is matched as text, never as a LIKE pattern."""
from sqlalchemy import or_


def like_pattern(text):
    """A LIKE pattern (escape character `\\`) matching values that contain `text` as typed."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(text, *columns):
    """Any of `columns` contains `text`, case-insensitively (`50%` finds "50% off", not "500")."""
    pattern = like_pattern(text)
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))
