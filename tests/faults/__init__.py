"""Fault-injection suite (issue 14): bad data directories, bad user tables and scenario files, bad options, engine faults."""
