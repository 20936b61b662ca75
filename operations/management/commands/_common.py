import getpass


def run_by() -> str:
    """The operating-system account running the command, for the audit entry."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
