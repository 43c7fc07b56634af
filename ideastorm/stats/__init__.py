"""/stats: the funnel and activity over time, as charts and tables."""
