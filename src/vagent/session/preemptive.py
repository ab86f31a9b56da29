"""Preemptive generation: start the reply on a final transcript, before the turn is committed.

With ``AgentSession(preemptive_generation=True)``, each final transcript of the user's turn
starts a *speculative* reply: a speech whose task runs in the activity's task group (under
the speech's own cancel scope) but which is not scheduled, so its LLM and TTS run ahead
while nothing plays and nothing is committed. A newer final transcript cancels it and starts
another. When the turn is committed, the speculation is adopted (scheduled, and played when
authorized) only if it was made from the same user text, the same chat context (after
``on_user_turn_completed``), the same instructions and the same tools; otherwise it is
cancelled and the reply is generated normally. A cancelled speculation commits nothing.

No speculation starts while another speech of the activity is still running (its heard text
is not in the context yet), nor while the activity drains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attrs import frozen

if TYPE_CHECKING:
    from vagent.llm import ChatItem, ChatMessage, ToolEntry

    from .agent import Agent
    from .speech_handle import SpeechHandle


@frozen(kw_only=True)
class SpeculativeReply:
    """A reply started before its user turn was committed, and what it was made from."""

    handle: SpeechHandle
    message: ChatMessage  # the user message the reply answers (not committed yet)
    context_items: tuple[ChatItem, ...]  # the agent's chat context it was made from
    instructions: str
    tools: tuple[ToolEntry, ...]

    @classmethod
    def snapshot(cls, handle: SpeechHandle, message: ChatMessage, agent: Agent) -> SpeculativeReply:
        return cls(
            handle=handle,
            message=message,
            context_items=tuple(agent._chat_ctx.items),
            instructions=agent.instructions,
            tools=tuple(agent.tools),
        )

    def matches(self, transcript: str, agent: Agent) -> bool:
        """True when the committed turn would produce the same LLM request."""
        return (
            not self.handle.done()
            and self.message.text_content == transcript
            and tuple(agent._chat_ctx.items) == self.context_items
            and agent.instructions == self.instructions
            and tuple(agent.tools) == self.tools
        )
