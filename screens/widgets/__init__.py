"""Widgets shared by the screens: the banner, the flow map, a step's checklist, the SQL view."""
