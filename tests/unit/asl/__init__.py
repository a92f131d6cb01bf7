"""Unit tests of the broker-free ASL interpreter (orchestration.asl)."""
