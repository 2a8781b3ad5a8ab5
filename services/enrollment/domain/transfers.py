"""Insurance relationship transfers (关系转移接续): requested → approved | rejected; approved → completed."""

from __future__ import annotations

from shared.schemas import Choice


class TransferState(Choice):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    completed = "completed"


class TransferAction(Choice):
    approve = "approve"
    reject = "reject"
    complete = "complete"


TRANSITIONS: dict[tuple[TransferState, TransferAction], TransferState] = {
    (TransferState.requested, TransferAction.approve): TransferState.approved,
    (TransferState.requested, TransferAction.reject): TransferState.rejected,
    (TransferState.approved, TransferAction.complete): TransferState.completed,
}


_PAST = {
    TransferAction.approve: "approved",
    TransferAction.reject: "rejected",
    TransferAction.complete: "completed",
}


class IllegalTransition(ValueError):
    pass


def next_state(state: TransferState, action: TransferAction) -> TransferState:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(f"a {state.value} transfer cannot be {_PAST[action]}") from None
