"""CloudWatch: customer-facing metric probes, tolerances, the experiment dashboard and alarms."""
