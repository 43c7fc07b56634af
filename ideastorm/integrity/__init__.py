"""Vote integrity: the report of suspicious voting, and voiding the votes of banned members."""
