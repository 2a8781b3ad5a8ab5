"""Clients of the services claims calls, as FastAPI dependencies (tests override these)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.claims.clients.enrollment import EnrollmentApi, HttpEnrollmentClient
from services.claims.clients.stations import HttpStationsClient, StationsApi


def enrollment_client(request: Request) -> EnrollmentApi:
    state = request.app.state
    return HttpEnrollmentClient(
        state.clients["enrollment"], request.headers.get("authorization"), state.eligibility
    )


def stations_client(request: Request) -> StationsApi:
    return HttpStationsClient(
        request.app.state.clients["stations"], request.headers.get("authorization")
    )


Enrollment = Annotated[EnrollmentApi, Depends(enrollment_client)]
Stations = Annotated[StationsApi, Depends(stations_client)]
