"""Typed clients for the services the stations service calls."""
