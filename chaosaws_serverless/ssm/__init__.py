"""SSM Automation: the chaos-layer document (``ssm/`` at the top level) and its executions."""
