"""Measuring recognition on a labelled photo collection, as the server would recognise it."""
