"""How many examples a property test draws: all of them on SQLite, a third (at least five) on the
PostgreSQL pass of ``make test``.

The two passes run the same properties. The SQLite pass explores the shapes of organisations and edits;
on PostgreSQL the same properties mainly check what differs there (binary COPY reads, SQL, locking,
the real worker), which a few examples reach as well as many. This keeps the two passes, which share the
machine's two cores, about as long as each other.
"""

from __future__ import annotations

import os

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def examples(n: int) -> int:
    return max(5, n // 3) if ON_POSTGRES else n
