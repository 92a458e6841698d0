"""Shared utilities below every pipeline stage: atomic file writes, strict JSON, progress callbacks."""
