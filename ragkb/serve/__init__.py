"""ragkb served to other programs: MCP over stdio and HTTP, with the CLI's JSON contract."""
