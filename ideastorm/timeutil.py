from datetime import datetime, timezone


def utcnow() -> datetime:
    """Naive UTC, as stored in every timestamp column."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
