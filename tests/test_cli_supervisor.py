"""`yibao up`'s supervisor: what died is started again, with backoff; the database too."""

from pathlib import Path
from typing import Any

import pytest

from cli import processes
from cli.processes import Backoff, Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(processes.time, "monotonic", clock)
    return clock


class Database:
    name = "database"

    def __init__(self, failing_starts: int) -> None:
        self.up = False
        self.starts = 0
        self.failing_starts = failing_starts

    def alive(self) -> bool:
        return self.up

    def start(self) -> None:
        self.starts += 1
        if self.starts <= self.failing_starts:
            raise RuntimeError("pre-existing shared memory block is still in use")
        self.up = True


class Exited:
    """A process that has exited."""

    returncode = -9

    def poll(self) -> int:
        return self.returncode


def supervisor(**fields: Any) -> Supervisor:
    return Supervisor(boot=None, keys=(Path("private"), Path("public")), **fields)  # type: ignore[arg-type]


def test_backoff_restarts_at_once_then_waits_longer_and_forgets_after_a_quiet_spell() -> None:
    backoff = Backoff(first=0.5, longest=2.0, settled=30.0)
    waits = []
    now = 0.0
    for _ in range(5):
        assert backoff.due(now)
        backoff.started(now)
        waits.append(backoff.next_at - now)
        assert not backoff.due(now + waits[-1] / 2)
        now = backoff.next_at
    assert waits == [0.5, 1.0, 2.0, 2.0, 2.0]
    backoff.started(now + 60)  # up a minute before this crash: a new series
    assert backoff.next_at - (now + 60) == 0.5


def test_a_dead_database_is_started_again_until_it_comes_up(clock: Clock) -> None:
    database = Database(failing_starts=2)
    watched = supervisor(database=database)
    first = watched.watch()
    assert database.starts == 1 and "could not start yet" in first[0].message
    assert watched.watch() == []  # not before its backoff
    clock.now += 0.6
    assert "could not start yet" in watched.watch()[0].message
    clock.now += 1.1
    started = watched.watch()
    assert database.up and database.starts == 3
    assert started[0].message == "stopped; started it again" and not started[0].gave_up
    assert watched.watch() == []


def test_an_exited_process_is_started_again_and_given_up_when_it_keeps_exiting(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = supervisor()
    watched.procs["claims"] = Exited()  # type: ignore[assignment]
    started: list[str] = []
    monkeypatch.setattr(watched, "start", started.append)
    events = []
    for _ in range(60):
        events.extend(watched.watch())
        clock.now += 1.0
    restarts = [e for e in events if not e.gave_up]
    assert len(restarts) == len(started) == 5  # at most 5 a minute
    assert events[-1].gave_up and "keeps exiting" in events[-1].message
