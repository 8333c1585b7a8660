"""Rendering: the JSON contract (schema), the terminal views, the progress bar."""
