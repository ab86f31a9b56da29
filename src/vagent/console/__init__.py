"""``vagent console``: run an agent in this terminal, with no LiveKit server.

The agent file's entrypoint runs as a local fake job whose ``ctx.room`` is a
:class:`ConsoleRoom`; the ``AgentSession`` it starts with ``room=ctx.room`` talks to the
terminal (text, or the microphone and speaker with ``--audio``). Importing this package
registers the ``console`` subcommand of ``vagent``. Run it as
``vagent console agent.py`` or ``python -m vagent.console agent.py``.
"""

from ._audio import (
    AudioDevices,
    MicrophoneInput,
    SpeakerOutput,
    open_sound_devices,
    probe_audio_devices,
)
from ._command import CONSOLE_COMMAND, register
from ._io import ConsoleIO, ConsoleTextOutput
from ._printer import TranscriptPrinter
from ._room import ConsoleRoom, ConsoleRoomConnector, ConsoleRoomIO
from ._run import ConsoleConfig, console_main, run_console

register()

__all__ = [
    "CONSOLE_COMMAND",
    "AudioDevices",
    "ConsoleConfig",
    "ConsoleIO",
    "ConsoleRoom",
    "ConsoleRoomConnector",
    "ConsoleRoomIO",
    "ConsoleTextOutput",
    "MicrophoneInput",
    "SpeakerOutput",
    "TranscriptPrinter",
    "console_main",
    "open_sound_devices",
    "probe_audio_devices",
    "register",
    "run_console",
]
