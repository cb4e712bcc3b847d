"""The import's lookups of many rows by a unique key (emails, usernames) in one statement.

`email IN (…500 values…)` reads as a job for the unique btree, but on PostgreSQL the planner
takes it to the trigram GIN index that Setup > Users' search has on the same column
(migration 0016; pg_trgm 1.6 answers `=` too), estimated cheaper than 500 btree descents.
Each value then costs a trigram search over posting lists shared by every address at the
same domain, plus a full read of the index's pending list, which every insert lengthens
until a VACUUM or 4 MB flushes it. 500 emails took 0.3 s on a freshly vacuumed index and
up to 12 s per statement late in a 5,000-row import. A LATERAL subquery with LIMIT 1 per
wanted key is one btree probe each (about 1 ms for 500) whatever the statistics or the
pending list say: the planner cannot flatten it, and for one parameterised equality the
unique btree is always the cheaper path. SQLite takes a plain IN.
"""
from sqlalchemy import bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY

from komet.extensions import db


def by_key(columns, key, values, *where):
    """SELECT `columns` of the rows whose unique `key` is one of `values` (and match `where`)."""
    values = sorted(set(values))
    if db.session.get_bind().dialect.name != "postgresql":
        return select(*columns).where(key.in_(values), *where)
    keys = bindparam("wanted_keys", values, type_=ARRAY(key.type))
    wanted = func.unnest(keys).table_valued("key").render_derived(name="wanted")
    # LIMIT 1 changes no result (the key is unique) and keeps the subquery a per-key probe.
    found = select(*columns).where(key == wanted.c.key, *where).limit(1).lateral("found")
    return select(*found.c).select_from(wanted.join(found, true()))
