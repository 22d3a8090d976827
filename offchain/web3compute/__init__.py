"""Web3 data computing (seed 004): state channels, computing sandbox, onion-routed sandbox location."""
