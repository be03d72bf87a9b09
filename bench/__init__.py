"""Benchmarks: `python -m bench` (what `make bench` runs) runs every module's `main()`."""
