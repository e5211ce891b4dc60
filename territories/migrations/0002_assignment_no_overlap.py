"""One rep's territory assignments never overlap, enforced by the database itself.

PostgreSQL: an exclusion constraint over the inclusive date range. SQLite: triggers that abort the
insert or update. Either way the error surfaces as an IntegrityError.
"""

from django.db import migrations

TABLE = "territories_territoryassignment"
OVERLAP = (
    f"SELECT 1 FROM {TABLE} a WHERE a.rep_id = NEW.rep_id AND a.id IS NOT NEW.id "
    "AND a.start <= COALESCE(NEW.\"end\", '9999-12-31') AND COALESCE(a.\"end\", '9999-12-31') >= NEW.start"
)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        schema_editor.execute(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT assignment_no_overlap "
            "EXCLUDE USING gist (rep_id WITH =, daterange(start, \"end\", '[]') WITH &&)"
        )
    elif vendor == "sqlite":
        for event in ("INSERT", "UPDATE"):
            schema_editor.execute(
                f"CREATE TRIGGER assignment_no_overlap_{event.lower()} BEFORE {event} ON {TABLE} "
                f"WHEN EXISTS ({OVERLAP}) "
                "BEGIN SELECT RAISE(ABORT, 'assignment_no_overlap: a rep''s territory assignments overlap'); END"
            )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS assignment_no_overlap")
    elif vendor == "sqlite":
        for event in ("insert", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS assignment_no_overlap_{event}")


class Migration(migrations.Migration):
    dependencies = [("territories", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
