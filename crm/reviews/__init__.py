"""Regular reviews (RULES R7): consumption, the monthly watch list, the quarterly analysis with
its reclassification proposals, the half-year and yearly analyses."""
