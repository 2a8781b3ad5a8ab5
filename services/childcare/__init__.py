"""Childcare (托育): filing of under-3 childcare institutions, staff, inspections, disclosure."""
