"""The security suite: the fixtures of tests/conftest.py apply here too."""
