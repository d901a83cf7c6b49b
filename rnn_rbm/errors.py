"""The one exception type for mistakes a user can make or fix.

The CLI turns a UserError into one line on stderr and exit code 2; anything
else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input (file, flag, checkpoint): the message says what to do."""


class BadMidiError(UserError):
    """A MIDI file that cannot be turned into a piano roll; the message gives the reason."""
