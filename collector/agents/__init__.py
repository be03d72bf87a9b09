"""Host agents that speak the Prometheus text format (node_exporter ...)."""
