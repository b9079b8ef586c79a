"""The modlens desktop app and command line. Imports models/, never torch or transformers."""
