"""settlement in one call: settlement_state() and settle()

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

A settlement reads what its calculation depends on (``settlement_state``), computes in Python,
then calls ``settle``: under the person's lock and in that call's own transaction, it claims the
Idempotency-Key, checks the state is still what was read and writes everything. Two round trips
instead of six; a changed state (a concurrent settlement of the same person) raises YB409 and
the caller computes again under the lock.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Ordered aggregates: the texts read before and under the lock are compared for equality.
STATE = """
CREATE FUNCTION settlement_state(
    p_person bigint, p_year smallint, p_day date, p_inpatient boolean, p_last date,
    OUT used text, OUT others text
) LANGUAGE sql STABLE AS $$
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

SETTLE = """
CREATE FUNCTION settle(
    p_client text, p_key text, p_hash text, p_lock_ns int, p_lock_key int,
    p_year smallint, p_inpatient boolean, p_last date, p_used text, p_others text,
    p_id bigint, p_day date, p_person bigint, p_institution text, p_visit_type text,
    p_disease text, p_discharge date, p_scheme text, p_policy text,
    p_total numeric, p_out_of_scope numeric, p_policy_scope numeric, p_deductible numeric,
    p_basic_fund numeric, p_large_amount_subsidy numeric, p_critical_illness numeric,
    p_medical_assistance numeric, p_personal_pay numeric,
    p_deltas jsonb, p_after jsonb, p_items jsonb,
    p_pools text[], p_amounts numeric[], p_flag_kinds text[], p_flag_details text[],
    p_response jsonb,
    OUT o_won boolean, OUT o_hash text, OUT o_status int, OUT o_response text
) LANGUAGE plpgsql AS $$
DECLARE
    v_used text;
    v_others text;
BEGIN
    -- The person's lock before the key, on every path: one order, no deadlock.
    PERFORM pg_advisory_xact_lock(p_lock_ns, p_lock_key);
    INSERT INTO idempotency_keys (client_id, key, request_hash)
    VALUES (p_client, p_key, p_hash) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        -- A new statement, so a new snapshot: it sees the winner's committed row.
        SELECT false, k.request_hash, k.status_code, k.response::text
          INTO o_won, o_hash, o_status, o_response
          FROM idempotency_keys k WHERE k.client_id = p_client AND k.key = p_key;
        RETURN;
    END IF;
    SELECT s.used, s.others INTO v_used, v_others
      FROM settlement_state(p_person, p_year, p_day, p_inpatient, p_last) s;
    IF v_used IS DISTINCT FROM p_used OR v_others IS DISTINCT FROM p_others THEN
        RAISE EXCEPTION 'the person''s settlements changed since they were read'
            USING ERRCODE = 'YB409';
    END IF;
    INSERT INTO settlements (
        id, service_date, person_id, institution_code, visit_type, disease_code,
        discharge_date, scheme, policy_code, status, total, out_of_scope, policy_scope,
        deductible, basic_fund, large_amount_subsidy, critical_illness, medical_assistance,
        personal_pay, deltas, accumulators_after, items, client_id
    ) VALUES (
        p_id, p_day, p_person, p_institution, p_visit_type, p_disease, p_discharge, p_scheme,
        p_policy, 'settled', p_total, p_out_of_scope, p_policy_scope, p_deductible,
        p_basic_fund, p_large_amount_subsidy, p_critical_illness, p_medical_assistance,
        p_personal_pay, p_deltas, p_after, p_items, p_client
    );
    INSERT INTO accumulators (person_id, year, pool, amount)
    SELECT p_person, p_year, d.pool, d.amount FROM unnest(p_pools, p_amounts) AS d (pool, amount)
    ON CONFLICT (person_id, year, pool) DO UPDATE
       SET amount = accumulators.amount + excluded.amount, updated_at = now();
    INSERT INTO audit_flags (settlement_id, service_date, person_id, institution_code, kind,
                             detail)
    SELECT p_id, p_day, p_person, p_institution, f.kind, f.detail
      FROM unnest(p_flag_kinds, p_flag_details) AS f (kind, detail);
    UPDATE idempotency_keys SET status_code = 201, response = p_response
     WHERE client_id = p_client AND key = p_key;
    o_won := true;
END
$$
"""


def upgrade() -> None:
    op.execute(STATE)
    op.execute(SETTLE)


def downgrade() -> None:
    op.execute("DROP FUNCTION settle")
    op.execute("DROP FUNCTION settlement_state")
