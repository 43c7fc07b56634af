"""Atom feeds of new and implemented ideas."""
