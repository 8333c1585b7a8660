"""The commands, one module per job; each parses, makes one library call, renders."""
