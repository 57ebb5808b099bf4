"""The simulated plant: devices, faults, physics, tools, scenarios and the grader."""
