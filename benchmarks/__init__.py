"""RoomCal benchmarks: measured figures beside their references, saved as tables (not timed tests)."""
