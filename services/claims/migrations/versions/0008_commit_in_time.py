"""in_time(): a settlement commits only within its request's deadline

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

The settlement statement calls it once settle() has written everything, an instant before the
statement commits (``SELECT ..., in_time($deadline) FROM settle(...)``: the target list is
computed from settle()'s row). Past the deadline it raises YB504, the statement fails and
nothing is recorded, so the 504 the service answers then is true. It is checked on the
database's clock, which matters when the database itself was stopped: a settlement frozen
mid-statement and resumed after its caller gave up fails here instead of committing late. The
deadline is a time of day from the service's clock; the service and the database keep the same
time (NTP), to well within the half-second a deadline keeps in reserve.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_TIME = """
CREATE FUNCTION in_time(p_deadline timestamptz) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_deadline IS NOT NULL AND clock_timestamp() > p_deadline THEN
        RAISE EXCEPTION 'the request''s deadline passed before it could commit'
            USING ERRCODE = 'YB504';
    END IF;
    RETURN true;
END
$$
"""


def upgrade() -> None:
    op.execute(IN_TIME)


def downgrade() -> None:
    op.execute("DROP FUNCTION in_time(timestamptz)")
