"""Video-service requests: a person asks, the station queues, accepts, completes; the handled
item is recorded against the station per month."""

from __future__ import annotations

import random

from .conftest import remote_point


async def _station(stations, auth) -> int:
    lat, lon = remote_point()
    body = {"name": "视频站", "station_type": "township", "region_code": "371602001",
            "lat": lat, "lon": lon, "items": ["SI05", "SI27", "SI03"]}  # fmt: skip
    r = await stations.post("/stations/v1/stations", json=body, headers=auth("admin"))
    assert r.status_code == 201
    return r.json()["station_id"]


def _person() -> int:
    return random.randrange(10**6, 10**9)


async def test_request_queue_accept_complete_and_count(stations, auth):
    station = await _station(stations, auth)
    person = _person()
    me = auth("app", person_id=person)
    desk = auth("station", str(station))
    r = await stations.post(
        f"/stations/v1/stations/{station}/video-requests",
        json={"item_code": "SI05", "note": "异地住院手工报销"},
        headers=me,
    )
    assert r.status_code == 201, r.text
    request = r.json()
    assert (request["status"], request["person_id"]) == ("queued", person)

    queue = await stations.get(f"/stations/v1/stations/{station}/video-requests", headers=desk)
    assert [q["request_id"] for q in queue.json()["items"]] == [request["request_id"]]

    rid = request["request_id"]
    early = await stations.post(f"/stations/v1/video-requests/{rid}/complete", headers=desk)
    assert early.status_code == 409
    assert (
        await stations.post(f"/stations/v1/video-requests/{rid}/accept", headers=me)
    ).status_code == 403
    accepted = await stations.post(f"/stations/v1/video-requests/{rid}/accept", headers=desk)
    assert accepted.json()["status"] == "accepted" and accepted.json()["accepted_at"]
    done = await stations.post(f"/stations/v1/video-requests/{rid}/complete", headers=desk)
    assert done.json()["status"] == "completed"
    again = await stations.post(f"/stations/v1/video-requests/{rid}/complete", headers=desk)
    assert again.status_code == 409

    counter = await stations.post(
        f"/stations/v1/stations/{station}/handled-items",
        json={"item_code": "SI03", "person_id": person},
        headers=desk,
    )
    assert counter.status_code == 201, counter.text
    counts = await stations.get(f"/stations/v1/stations/{station}/handled-items", headers=desk)
    assert counts.status_code == 200
    month = done.json()["completed_at"][:7]
    assert {(c["item_code"], c["channel"], c["count"]) for c in counts.json()} == {
        ("SI05", "video", 1),
        ("SI03", "counter", 1),
    }
    assert {c["month"] for c in counts.json()} <= {month, counter.json()["handled_at"][:7]}
    mine = await stations.get("/stations/v1/video-requests", headers=me)
    assert [m["status"] for m in mine.json()["items"]] == ["completed"]


async def test_visibility_and_rules(stations, auth):
    station = await _station(stations, auth)
    other_station = await _station(stations, auth)
    person = _person()
    r = await stations.post(
        f"/stations/v1/stations/{station}/video-requests",
        json={"item_code": "SI27"},
        headers=auth("app", person_id=person),
    )
    rid = r.json()["request_id"]
    stranger = auth("app", person_id=_person())
    assert (
        await stations.get(f"/stations/v1/video-requests/{rid}", headers=stranger)
    ).status_code == 404
    elsewhere = auth("station", str(other_station))
    assert (
        await stations.post(f"/stations/v1/video-requests/{rid}/accept", headers=elsewhere)
    ).status_code == 404
    assert (
        await stations.get(f"/stations/v1/stations/{station}/video-requests", headers=elsewhere)
    ).status_code == 403
    assert (
        await stations.get(f"/stations/v1/stations/{station}/handled-items", headers=elsewhere)
    ).status_code == 403
    cancelled = await stations.post(
        f"/stations/v1/video-requests/{rid}/cancel", headers=auth("app", person_id=person)
    )
    assert cancelled.json()["status"] == "cancelled"

    not_handled = await stations.post(
        f"/stations/v1/stations/{station}/video-requests",
        json={"item_code": "SI26"},
        headers=auth("app", person_id=person),
    )
    assert not_handled.status_code == 422
    assert not_handled.json()["errors"][0]["field"] == "body.item_code"
    no_station = await stations.post(
        "/stations/v1/stations/999999999/video-requests",
        json={"item_code": "SI05"},
        headers=auth("app", person_id=person),
    )
    assert no_station.status_code == 404
    assert (await stations.post(
        f"/stations/v1/stations/{station}/video-requests", json={"item_code": "SI05"}
    )).status_code == 401  # fmt: skip
    assert (await stations.post(
        f"/stations/v1/stations/{station}/video-requests", json={"item_code": "SI05"},
        headers=auth("pharmacy", "P37160200007"),
    )).status_code == 403  # fmt: skip
