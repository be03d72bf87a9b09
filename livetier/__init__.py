"""The live Tier engine: re-scores the topology on every status change, records
load outages and exposure, serves availability and the tier metrics."""
