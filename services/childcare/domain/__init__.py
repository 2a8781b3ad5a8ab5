"""Pure childcare rules: no I/O, tested exhaustively."""
