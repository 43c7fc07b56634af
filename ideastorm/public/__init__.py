"""Leaderboards, Ideas in Action, roadmap and public profiles."""
