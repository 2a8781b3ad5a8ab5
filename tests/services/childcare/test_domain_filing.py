"""The filing state machine, exhaustively and with random action sequences."""

from datetime import UTC, datetime
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.childcare.domain.filing import (
    ACTION_ROLES,
    EDGES,
    REASON_REQUIRED,
    TERMINAL,
    TRANSITIONS,
    Action,
    Filing,
    FilingError,
    IllegalTransition,
    ReasonRequired,
    Role,
    RoleNotPermitted,
    State,
    allowed_actions,
    apply,
    filing_number,
    next_state,
)

AT = datetime(2026, 11, 23, tzinfo=UTC)

EXPECTED = {
    (State.draft, Action.submit): State.submitted,
    (State.submitted, Action.return_): State.returned,
    (State.submitted, Action.approve): State.approved,
    (State.submitted, Action.reject): State.rejected,
    (State.returned, Action.resubmit): State.resubmitted,
    (State.resubmitted, Action.return_): State.returned,
    (State.resubmitted, Action.approve): State.approved,
    (State.resubmitted, Action.reject): State.rejected,
    (State.approved, Action.change): State.approved,
    (State.approved, Action.suspend): State.suspended,
    (State.approved, Action.deregister): State.deregistered,
    (State.suspended, Action.reinstate): State.approved,
    (State.suspended, Action.deregister): State.deregistered,
}
"""DOMAIN.md section 5, written out independently of the module's table."""

OPERATOR_ACTIONS = {Action.submit, Action.resubmit, Action.change, Action.deregister}


def test_the_table_is_the_documented_lifecycle():
    assert dict(EDGES) == EXPECTED
    assert {State.rejected, State.deregistered} == TERMINAL


@pytest.mark.parametrize(("state", "action", "role"), list(product(State, Action, Role)))
def test_every_state_action_role_is_legal_or_raises(state, action, role):
    role_may = role is Role.admin or (role is Role.operator) == (action in OPERATOR_ACTIONS)
    expected = EXPECTED.get((state, action))
    if not role_may:
        with pytest.raises(RoleNotPermitted):
            next_state(state, action, role)
    elif expected is None:
        with pytest.raises(IllegalTransition):
            next_state(state, action, role)
    else:
        assert next_state(state, action, role) is expected
        assert TRANSITIONS[(state, action, role)] is expected


@pytest.mark.parametrize(("state", "action"), list(product(State, Action)))
def test_an_illegal_action_leaves_the_filing_as_it_was(state, action):
    filing = Filing(state=state)
    role = next(iter(ACTION_ROLES[action] - {Role.admin}))
    if (state, action) in EXPECTED:
        after = apply(filing, action, role, "someone", AT, "because")
        assert after.state is EXPECTED[(state, action)]
        assert len(after.history) == 1
        assert after.history[0].from_state is state
    else:
        with pytest.raises(IllegalTransition):
            apply(filing, action, role, "someone", AT, "because")
    assert filing == Filing(state=state)


@pytest.mark.parametrize("action", sorted(REASON_REQUIRED))
def test_actions_that_need_a_reason(action):
    state = next(s for (s, a) in EXPECTED if a is action)
    with pytest.raises(ReasonRequired):
        apply(Filing(state=state), action, Role.admin, "x", AT, "  ")


def test_allowed_actions_per_role():
    assert allowed_actions(State.submitted, Role.reviewer) == [
        Action.return_,
        Action.approve,
        Action.reject,
    ]
    assert allowed_actions(State.submitted, Role.operator) == []
    assert allowed_actions(State.approved, Role.operator) == [Action.change, Action.deregister]


def test_filing_number():
    assert filing_number("371602", 2026, 1) == "托备-371602-2026-0001"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(Action), st.sampled_from(Role)), max_size=40))
def test_random_sequences_stay_defined_and_history_counts_legal_steps(steps):
    filing = Filing()
    legal = 0
    for action, role in steps:
        before = filing
        try:
            filing = apply(filing, action, role, f"{role.value}-client", AT, "reason")
            legal += 1
        except FilingError:
            assert filing is before
        assert filing.state in State
    assert len(filing.history) == legal
    assert [e.seq for e in filing.history] == list(range(1, legal + 1))
    for previous, event in zip(filing.history, filing.history[1:], strict=False):
        assert event.from_state is previous.to_state
    if filing.history:
        assert filing.history[-1].to_state is filing.state
        assert all((e.from_state, e.action) in EXPECTED for e in filing.history)
