"""One module per stack layer (regions/stacks.py): what that stack builds and the outputs others read."""
