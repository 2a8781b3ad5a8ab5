"""Pure enrollment rules: no I/O, tested exhaustively."""
