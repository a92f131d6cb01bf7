"""The trace report: one self-contained HTML page with both modes of a run side by side."""
