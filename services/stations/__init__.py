"""Stations (服务站点): the service-station network, designated institutions, pharmacy stock."""
