"""Orchestration mode: a States Language orchestrator commands the services and undoes on failure."""
