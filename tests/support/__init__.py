"""Helpers shared by the fault, hostile-input and fuzz suites."""
