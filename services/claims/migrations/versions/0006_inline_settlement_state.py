"""settlement_state() as a set-returning SQL function, so the planner inlines it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

0005 declared it with OUT parameters (a single row): PostgreSQL does not inline such a function
and plans its body on every call, which on the partitioned settlements table cost more than the
statement itself. Returning TABLE lets it be inlined into the statements that call it (and their
cached plans).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATE = """
CREATE FUNCTION settlement_state(
    p_person bigint, p_year smallint, p_day date, p_inpatient boolean, p_last date
) RETURNS TABLE (used text, others text) LANGUAGE sql STABLE ROWS 1 AS $$
SELECT
    (SELECT coalesce(json_agg(json_build_array(a.pool, a.amount::text) ORDER BY a.pool), '[]')
       FROM accumulators a WHERE a.person_id = p_person AND a.year = p_year)::text,
    (SELECT coalesce(json_agg(json_build_array(
                s.id, s.visit_type, s.service_date, s.discharge_date, s.items) ORDER BY s.id),
            '[]')
       FROM settlements s
      WHERE s.person_id = p_person AND s.status = 'settled'
        AND (s.service_date = p_day
             OR (p_inpatient AND s.visit_type = 'inpatient' AND s.service_date <= p_last
                 AND coalesce(s.discharge_date, s.service_date) >= p_day)))::text
$$
"""


def upgrade() -> None:
    op.execute("DROP FUNCTION settlement_state")
    op.execute(STATE)


def downgrade() -> None:
    op.execute("DROP FUNCTION settlement_state")
    op.execute(
        STATE.replace(
            ") RETURNS TABLE (used text, others text) LANGUAGE sql STABLE ROWS 1 AS $$",
            ", OUT used text, OUT others text) LANGUAGE sql STABLE AS $$",
        )
    )
