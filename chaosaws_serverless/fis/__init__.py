"""AWS FIS: compile Lambda faults into experiment templates and run them on AWS's own engine."""
