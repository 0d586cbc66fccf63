"""The landing pipeline, one step per module: decode -> rows -> land -> (commit by Faust after the write)."""
