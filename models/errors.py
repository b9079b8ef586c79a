"""The one base class for errors a user can act on.

Everything the window or the command line shows as a plain message (a bad file, a damaged model,
a refused write) derives from :class:`ModlensError`; callers handle errors by this type, never by
class-name strings. ``str(error)`` is the message, written for a moderator, not a developer.
"""

from __future__ import annotations


class ModlensError(Exception):
    """A problem with the user's input, files or machine, described in one plain sentence."""


class SettingError(ModlensError, ValueError):
    """An option or setting outside the range it can take (threads, beam size, ...)."""
