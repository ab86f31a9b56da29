"""Ways for a user to reach a session other than a LiveKit room.

- :mod:`vagent.transports.websocket`: a browser (or any client) talks to one session over a
  WebSocket, served by an ASGI app.
"""
