"""settle(): the Idempotency-Key is claimed with its answer; no empty flag insert

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

0005 inserted the key's row bare and updated it with the answer at the end of the same
transaction. The answer is an argument of the call, known before anything is written, and nobody
sees the row before the transaction commits (a concurrent request with the same key waits on the
unique index until then; a rolled-back settlement takes the row with it): the row is now inserted
complete, one statement and one dead row version less per settlement. The flags' INSERT ... SELECT
over two empty arrays, the common case, is skipped.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _load_0005() -> ModuleType:
    """0005's module, whose function text this revision edits: it states only what changes."""
    spec = importlib.util.spec_from_file_location(
        "claims_0005_settle_functions", Path(__file__).with_name("0005_settle_functions.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CLAIM_BARE = """    INSERT INTO idempotency_keys (client_id, key, request_hash)
    VALUES (p_client, p_key, p_hash) ON CONFLICT DO NOTHING;"""
_CLAIM_WITH_ANSWER = """    INSERT INTO idempotency_keys (client_id, key, request_hash, status_code, response)
    VALUES (p_client, p_key, p_hash, 201, p_response) ON CONFLICT DO NOTHING;"""
_ANSWER_LATER = """    UPDATE idempotency_keys SET status_code = 201, response = p_response
     WHERE client_id = p_client AND key = p_key;
"""
_FLAGS = """    INSERT INTO audit_flags (settlement_id, service_date, person_id, institution_code, kind,
                             detail)
    SELECT p_id, p_day, p_person, p_institution, f.kind, f.detail
      FROM unnest(p_flag_kinds, p_flag_details) AS f (kind, detail);
"""
_FLAGS_IF_ANY = """    IF cardinality(p_flag_kinds) > 0 THEN
        INSERT INTO audit_flags (settlement_id, service_date, person_id, institution_code, kind,
                                 detail)
        SELECT p_id, p_day, p_person, p_institution, f.kind, f.detail
          FROM unnest(p_flag_kinds, p_flag_details) AS f (kind, detail);
    END IF;
"""


def _settle_0005() -> str:
    text: str = _load_0005().SETTLE
    for part in (_CLAIM_BARE, _ANSWER_LATER, _FLAGS):
        assert part in text, part
    return text.replace("CREATE FUNCTION settle(", "CREATE OR REPLACE FUNCTION settle(")


def upgrade() -> None:
    op.execute(
        _settle_0005()
        .replace(_CLAIM_BARE, _CLAIM_WITH_ANSWER)
        .replace(_ANSWER_LATER, "")
        .replace(_FLAGS, _FLAGS_IF_ANY)
    )


def downgrade() -> None:
    op.execute(_settle_0005())
