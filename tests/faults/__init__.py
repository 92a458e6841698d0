"""Fault-injection suite (issue 14): bad data directories, user tables, scenario files, options; engine faults."""
