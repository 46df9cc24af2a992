"""The one exception type for problems a user can cause and fix."""


class GrinlabError(Exception):
    """A user-facing error: bad input, missing file, unknown name.

    The message must say what was wrong, where (file, row) and what to do about it.
    The CLI prints it as one line and exits non-zero.
    """
