"""Exceptions that end a command with a message instead of a traceback.

The CLI turns a UserError into one line on stderr and exit code 2; anything
else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input (file, flag, checkpoint): the message says what to do."""


class BadMidiError(UserError):
    """A MIDI file that cannot be turned into a piano roll; the message gives the reason."""


class RunInterrupted(Exception):
    """Training stopped at the user's request (Ctrl-C) after saving its state; the message
    says where. The CLI prints it and exits with 130, as an interrupted program does."""
