"""What a run writes and reads back: typed, versioned records and the run directory."""
