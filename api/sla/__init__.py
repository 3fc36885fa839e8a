"""SLA clocks: the pure policy, the evaluator and the events it records."""
