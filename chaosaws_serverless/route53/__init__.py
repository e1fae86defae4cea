"""Route 53: health-check status, latency routing and failover pre-flight checks."""
