"""Maintenance scripts for the course (executing notebooks, building student versions)."""
