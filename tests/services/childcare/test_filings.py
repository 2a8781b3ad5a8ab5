"""The filing lifecycle over HTTP: every illegal step is 409 and changes nothing."""

import asyncio
import re

import pytest

from services.childcare.domain.filing import EDGES, Action, State
from tests.services.childcare.helpers import API, act, new_institution, operator, reviewer

PATHS = {
    State.draft: [],
    State.submitted: [Action.submit],
    State.returned: [Action.submit, Action.return_],
    State.resubmitted: [Action.submit, Action.return_, Action.resubmit],
    State.approved: [Action.submit, Action.approve],
    State.rejected: [Action.submit, Action.reject],
    State.suspended: [Action.submit, Action.approve, Action.suspend],
    State.deregistered: [Action.submit, Action.approve, Action.deregister],
}
OPERATOR_ACTIONS = {Action.submit, Action.resubmit, Action.change, Action.deregister}


def who(auth, institution_id: int, action: Action) -> dict:
    return operator(auth, institution_id) if action in OPERATOR_ACTIONS else reviewer(auth)


async def drive(childcare, auth, institution_id: int, path: list[Action]) -> None:
    for action in path:
        response = await act(
            childcare, who(auth, institution_id, action), institution_id, action.value
        )
        assert response.status_code == 200, response.text


async def snapshot(childcare, auth, institution_id: int) -> tuple:
    headers = auth("admin")
    filing = (
        await childcare.get(f"{API}/institutions/{institution_id}/filings", headers=headers)
    ).json()
    history = (
        await childcare.get(f"{API}/institutions/{institution_id}/filings/history", headers=headers)
    ).json()
    return filing["state"], filing["version"], filing["filing_number"], len(history["events"])


@pytest.mark.parametrize("state", list(State))
async def test_every_action_from_every_state(childcare, auth, state):
    """Each (state, action): legal ones go and are in the history; illegal ones are 409."""
    for action in Action:
        inst = await new_institution(childcare, auth)
        iid = inst["id"]
        await drive(childcare, auth, iid, PATHS[state])
        before = await snapshot(childcare, auth, iid)
        assert before[0] == state.value
        headers = who(auth, iid, action)
        if action is Action.change:
            response = await childcare.post(
                f"{API}/institutions/{iid}/filings/change",
                json={"reason": "更换电话", "changes": {"phone": "0543-3999999"}},
                headers=headers,
            )
        else:
            response = await act(childcare, headers, iid, action.value)
        after = await snapshot(childcare, auth, iid)
        target = EDGES.get((state, action))
        if target is None:
            assert response.status_code == 409, (state, action, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert after == before
        else:
            assert response.status_code == 200, (state, action, response.text)
            assert after[0] == target.value
            assert after[1] == before[1] + 1
            assert after[3] == before[3] + 1
            history = (
                await childcare.get(f"{API}/institutions/{iid}/filings/history", headers=headers)
            ).json()
            last = history["events"][-1]
            assert (last["action"], last["from_state"], last["to_state"]) == (
                action.value,
                state.value,
                target.value,
            )
            assert last["actor"] and last["at"]


async def test_full_lifecycle_history_and_filing_number(childcare, auth):
    inst = await new_institution(childcare, auth)
    iid = inst["id"]
    op, rev = operator(auth, iid), reviewer(auth)
    assert (await act(childcare, op, iid, "submit", None)).status_code == 200
    missing = await act(childcare, rev, iid, "return", None)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.reason"
    assert (await act(childcare, rev, iid, "return", "缺少消防验收意见书")).status_code == 200
    assert (await act(childcare, op, iid, "resubmit", "已补充")).status_code == 200
    approved = await act(childcare, rev, iid, "approve", None)
    assert approved.status_code == 200
    number = approved.json()["filing_number"]
    assert re.fullmatch(r"托备-371602-\d{4}-\d{4}", number)
    assert approved.json()["state"] == "approved"
    change = await childcare.post(
        f"{API}/institutions/{iid}/filings/change",
        json={"reason": "搬迁", "changes": {"address": "渤海七路 8 号"}},
        headers=op,
    )
    assert change.status_code == 200
    read = await childcare.get(f"{API}/institutions/{iid}", headers=op)
    assert read.json()["address"] == "渤海七路 8 号"
    history = (await childcare.get(f"{API}/institutions/{iid}/filings/history", headers=op)).json()
    events = history["events"]
    assert [e["action"] for e in events] == ["submit", "return", "resubmit", "approve", "change"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert events[1]["reason"] == "缺少消防验收意见书" and events[1]["role"] == "reviewer"
    assert events[3]["details"] == {"filing_number": number}
    assert events[4]["details"] == {"changes": {"address": "渤海七路 8 号"}}
    assert events[0]["actor"].startswith("test-childcare_operator")


async def test_roles_and_regions(childcare, auth):
    inst = await new_institution(childcare, auth)
    iid = inst["id"]
    # The operator cannot approve its own filing, and a reviewer does not submit for it.
    assert (await act(childcare, operator(auth, iid), iid, "approve")).status_code == 403
    assert (await act(childcare, reviewer(auth), iid, "submit")).status_code == 403
    # Another institution's operator cannot see or touch this filing.
    stranger = operator(auth, iid + 1_000_000)
    assert (await act(childcare, stranger, iid, "submit")).status_code == 404
    assert (
        await childcare.get(f"{API}/institutions/{iid}/filings/history", headers=stranger)
    ).status_code == 404
    assert (await act(childcare, operator(auth, iid), iid, "submit")).status_code == 200
    # A reviewer of another county cannot approve (nor see) it.
    zouping = reviewer(auth, "371681")
    assert (await act(childcare, zouping, iid, "approve")).status_code == 404
    assert (await snapshot(childcare, auth, iid))[0] == "submitted"
    township = reviewer(auth, "371602001")
    assert (await act(childcare, township, iid, "approve")).status_code == 403
    assert (await act(childcare, reviewer(auth, "371602"), iid, "approve")).status_code == 200
    assert (
        await act(childcare, auth("pharmacy", "P37160200007"), iid, "suspend")
    ).status_code == 403
    assert (await childcare.post(f"{API}/institutions/{iid}/filings/suspend")).status_code == 401


async def test_concurrent_transitions_serialize(childcare, auth):
    inst = await new_institution(childcare, auth)
    iid = inst["id"]
    await act(childcare, operator(auth, iid), iid, "submit")
    rev = reviewer(auth)
    results = await asyncio.gather(
        act(childcare, rev, iid, "approve"),
        act(childcare, rev, iid, "reject"),
        act(childcare, rev, iid, "approve"),
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409]
    state, version, _, events = await snapshot(childcare, auth, iid)
    assert version == 2 and events == 2 and state in ("approved", "rejected")


async def test_filing_numbers_are_unique_per_county_and_year(childcare, auth):
    numbers = []
    for _ in range(3):
        inst = await new_institution(childcare, auth, "371603001")
        await act(childcare, operator(auth, inst["id"]), inst["id"], "submit")
        approved = await act(childcare, reviewer(auth, "371603"), inst["id"], "approve")
        numbers.append(approved.json()["filing_number"])
    assert len(set(numbers)) == 3
    sequences = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert sequences == sorted(sequences) and all(n.startswith("托备-371603-") for n in numbers)


async def test_a_change_that_breaks_the_rules_changes_nothing(childcare, auth):
    inst = await new_institution(childcare, auth)
    iid = inst["id"]
    await drive(childcare, auth, iid, [Action.submit, Action.approve])
    before = await snapshot(childcare, auth, iid)
    bad = await childcare.post(
        f"{API}/institutions/{iid}/filings/change",
        json={"reason": "改为托班", "changes": {"form": "kindergarten_class", "address": "别处"}},
        headers=operator(auth, iid),
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].startswith("body.changes.capacity")
    assert await snapshot(childcare, auth, iid) == before
    read = await childcare.get(f"{API}/institutions/{iid}", headers=auth("admin"))
    assert read.json()["form"] == "standalone" and read.json()["address"] == "测试路 1 号"
