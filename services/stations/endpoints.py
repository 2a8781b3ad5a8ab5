"""Routes of the stations API."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from services.stations.models import ServiceItem
from services.stations.schemas import ServiceItemOut
from shared.db import DbSession

router = APIRouter(prefix="/stations/v1", tags=["service items"])


@router.get(
    "/service-items",
    summary="The catalog of service items (public)",
    response_model=list[ServiceItemOut],
)
async def list_service_items(session: DbSession) -> list[ServiceItemOut]:
    rows = await session.scalars(select(ServiceItem).order_by(ServiceItem.position))
    return [ServiceItemOut.model_validate(row) for row in rows]
