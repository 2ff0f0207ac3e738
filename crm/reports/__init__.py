"""Queries behind the dashboards and the periodic analyses (DESIGN: reports/)."""
