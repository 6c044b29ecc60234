"""How each piece is built: one ComponentResource per file, typed Args, no config reads."""
