"""The filing lifecycle (托育机构备案) as an explicit state machine.

``TRANSITIONS`` maps (state, action, role) to the new state; anything not in it is illegal. The
HTTP layer turns :class:`RoleNotPermitted` into 403 and :class:`IllegalTransition` into 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shared.schemas import Choice


class State(Choice):
    draft = "draft"
    submitted = "submitted"
    returned = "returned"
    """Returned for correction (退回补正)."""
    resubmitted = "resubmitted"
    approved = "approved"
    """Filed: a filing number has been issued."""
    rejected = "rejected"
    suspended = "suspended"
    deregistered = "deregistered"


class Action(Choice):
    submit = "submit"
    return_ = "return"
    resubmit = "resubmit"
    approve = "approve"
    reject = "reject"
    change = "change"
    """A change of filed particulars (变更备案); the filing stays approved."""
    suspend = "suspend"
    reinstate = "reinstate"
    deregister = "deregister"


class Role(Choice):
    operator = "operator"
    """The institution itself (childcare_operator client)."""
    reviewer = "reviewer"
    """The county health commission (childcare_reviewer client)."""
    admin = "admin"


_OPERATOR = frozenset({Role.operator, Role.admin})
_REVIEWER = frozenset({Role.reviewer, Role.admin})

ACTION_ROLES: Mapping[Action, frozenset[Role]] = {
    Action.submit: _OPERATOR,
    Action.resubmit: _OPERATOR,
    Action.change: _OPERATOR,
    Action.deregister: _OPERATOR,
    Action.return_: _REVIEWER,
    Action.approve: _REVIEWER,
    Action.reject: _REVIEWER,
    Action.suspend: _REVIEWER,
    Action.reinstate: _REVIEWER,
}

EDGES: Mapping[tuple[State, Action], State] = {
    (State.draft, Action.submit): State.submitted,
    (State.submitted, Action.return_): State.returned,
    (State.resubmitted, Action.return_): State.returned,
    (State.returned, Action.resubmit): State.resubmitted,
    (State.submitted, Action.approve): State.approved,
    (State.resubmitted, Action.approve): State.approved,
    (State.submitted, Action.reject): State.rejected,
    (State.resubmitted, Action.reject): State.rejected,
    (State.approved, Action.change): State.approved,
    (State.approved, Action.suspend): State.suspended,
    (State.suspended, Action.reinstate): State.approved,
    (State.approved, Action.deregister): State.deregistered,
    (State.suspended, Action.deregister): State.deregistered,
}
"""(state, action) → new state, whoever acts."""

TRANSITIONS: Mapping[tuple[State, Action, Role], State] = {
    (state, action, role): target
    for (state, action), target in EDGES.items()
    for role in ACTION_ROLES[action]
}
"""(state, action, role) → new state: the whole machine."""

REASON_REQUIRED: frozenset[Action] = frozenset(
    {Action.return_, Action.reject, Action.suspend, Action.change, Action.deregister}
)
"""Actions that must say why (what to correct, why rejected, what changed...)."""

EDITABLE: frozenset[State] = frozenset({State.draft, State.returned})
"""States in which the operator may still edit the particulars directly."""

TERMINAL: frozenset[State] = frozenset(
    s for s in State if not any(state is s for state, _ in EDGES)
)


class FilingError(Exception):
    pass


class RoleNotPermitted(FilingError):
    """This role never takes this action."""


class IllegalTransition(FilingError):
    """The action is not allowed from the current state."""


class ReasonRequired(FilingError):
    pass


def next_state(state: State, action: Action, role: Role) -> State:
    if role not in ACTION_ROLES[action]:
        raise RoleNotPermitted(f"a {role.value} may not {action.value} a filing")
    target = TRANSITIONS.get((state, action, role))
    if target is None:
        raise IllegalTransition(f"a filing that is {state.value} cannot be {_past(action)}")
    return target


def _past(action: Action) -> str:
    return {
        Action.submit: "submitted",
        Action.return_: "returned",
        Action.resubmit: "resubmitted",
        Action.approve: "approved",
        Action.reject: "rejected",
        Action.change: "changed",
        Action.suspend: "suspended",
        Action.reinstate: "reinstated",
        Action.deregister: "deregistered",
    }[action]


def allowed_actions(state: State, role: Role) -> list[Action]:
    return [a for a in Action if (state, a, role) in TRANSITIONS]


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    action: Action
    from_state: State
    to_state: State
    role: Role
    actor: str
    reason: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Filing:
    """A filing and its history; :func:`apply` returns a new one, never mutates."""

    state: State = State.draft
    history: tuple[Event, ...] = field(default_factory=tuple)


def apply(
    filing: Filing,
    action: Action,
    role: Role,
    actor: str,
    at: datetime,
    reason: str | None = None,
) -> Filing:
    """The filing after ``action``; raises and leaves it as it was if the action is illegal."""
    target = next_state(filing.state, action, role)
    if action in REASON_REQUIRED and not (reason and reason.strip()):
        raise ReasonRequired(f"{action.value} needs a reason")
    event = Event(
        seq=len(filing.history) + 1,
        action=action,
        from_state=filing.state,
        to_state=target,
        role=role,
        actor=actor,
        reason=reason,
        at=at,
    )
    return Filing(state=target, history=(*filing.history, event))


def filing_number(county_code: str, year: int, sequence: int) -> str:
    """托备-371602-2026-0001: county, year and a per-county, per-year sequence."""
    return f"托备-{county_code}-{year}-{sequence:04d}"
