// idea-page: progressive enhancement only; every control works without it.
