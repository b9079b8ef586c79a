"""One module per screen or reusable widget of the desktop app."""
