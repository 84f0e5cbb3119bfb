"""The Studio's commands, which `utterly` adds to its own (utterly/cli.py): running and
administering the Studio (server.py), NLU and bulk generation (nlu.py), files in and out
(transfer.py), and what they share (common.py).

Heavy imports (FastAPI, SQLAlchemy) happen inside the commands so that the rest of the CLI
starts fast.
"""

from __future__ import annotations

from . import nlu, server, transfer

COMMANDS = [*server.COMMANDS, *nlu.COMMANDS, *transfer.COMMANDS]
