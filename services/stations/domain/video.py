"""The life of a video-service request (手机视频办医保): queued at a station, accepted by it,
completed (the item counts as handled by the station) or cancelled before it is completed."""

from __future__ import annotations

from shared.schemas import Choice


class VideoStatus(Choice):
    queued = "queued"
    accepted = "accepted"
    completed = "completed"
    cancelled = "cancelled"


class VideoAction(Choice):
    accept = "accept"
    complete = "complete"
    cancel = "cancel"


TRANSITIONS: dict[tuple[VideoStatus, VideoAction], VideoStatus] = {
    (VideoStatus.queued, VideoAction.accept): VideoStatus.accepted,
    (VideoStatus.queued, VideoAction.cancel): VideoStatus.cancelled,
    (VideoStatus.accepted, VideoAction.complete): VideoStatus.completed,
    (VideoStatus.accepted, VideoAction.cancel): VideoStatus.cancelled,
}

OPEN = frozenset({VideoStatus.queued, VideoStatus.accepted})


class IllegalTransition(ValueError):
    def __init__(self, status: VideoStatus, action: VideoAction) -> None:
        super().__init__(f"a {status.value} request cannot be {action.value}ed")
        self.status = status
        self.action = action


def next_status(status: VideoStatus, action: VideoAction) -> VideoStatus:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action) from None
