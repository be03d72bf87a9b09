"""The power chain in depth: fuel autonomy, PUE, feed headroom and the forecast, computed
from the live state, the topology and the store (figures.py: pure functions; component.py:
the live figures and their series; diagram.py: the one-line diagram as SVG)."""
