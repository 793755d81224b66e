"""Sub-commands of the ``flestimate`` command line; one module each (see :mod:`flestimate.cli`)."""
