"""farmwatch site agent: daemon, config, scheduler, exposition, CLI."""

__version__ = "0.1.0"
