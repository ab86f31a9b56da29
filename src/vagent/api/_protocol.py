"""livekit-api's request and response types: every ``livekit.protocol`` message of the server
APIs, re-exported in livekit-api's order (a later module wins a name clash, as there)."""

# isort: skip_file
from livekit.protocol.agent_dispatch import *  # noqa: F403
from livekit.protocol.agent import *  # noqa: F403
from livekit.protocol.egress import *  # noqa: F403
from livekit.protocol.ingress import *  # noqa: F403
from livekit.protocol.models import *  # noqa: F403
from livekit.protocol.room import *  # noqa: F403
from livekit.protocol.webhook import *  # noqa: F403
from livekit.protocol.sip import *  # noqa: F403
from livekit.protocol.connector_whatsapp import *  # noqa: F403
from livekit.protocol.connector_twilio import *  # noqa: F403
