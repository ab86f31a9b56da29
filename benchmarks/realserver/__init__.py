"""End of the user's speech -> first agent audio at the user, over the real LiveKit server.

``python -m benchmarks.realserver`` (also part of ``python -m benchmarks``): one
``livekit-server --dev`` on loopback, two workers (vagent's ``vagent start
benchmarks/realserver/vagent_agent.py`` and livekit-agents 1.8.9's ``python
benchmarks/realserver/lk_agent.py start`` from the reference environment), the same agent on
both (silero VAD, scripted zero-latency STT/LLM/TTS, see :mod:`.agent_spec`), and one user per
side on the livekit rtc SDK who says a sentence, then listens. The figure is the time from
the last loud sample of the user's sentence leaving the user's microphone track to the first
loud frame of the agent's answer arriving at the user, turns alternating between the sides.
"""
