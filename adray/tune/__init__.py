"""Everything that calls Ray lives in this package (Ray's API churns; keep it in one place)."""
