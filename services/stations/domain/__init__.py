"""Pure rules of the stations service: no I/O, tested exhaustively."""
