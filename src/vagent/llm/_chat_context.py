"""The conversation history handed to an LLM: an ordered, mutable list of chat items."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, SupportsIndex, overload

import attrs

from vagent._core import NOT_GIVEN, NotGivenOr, ValidationError, is_given

from . import _serialization, _summarize
from ._chat_items import (
    AudioContent,
    ChatContent,
    ChatItem,
    ChatMessage,
    ChatRole,
    FunctionCall,
    ImageContent,
)

if TYPE_CHECKING:
    from ._llm import LLM
    from ._tools import FunctionTool

_CALL_TYPES = ("function_call", "function_call_output")


def _essentials(item: ChatItem) -> tuple[Any, ...]:
    """What :meth:`ChatContext.is_equivalent` compares of an item."""
    if isinstance(item, ChatMessage):
        return (item.id, item.type, item.role, item.interrupted, item.content)
    if isinstance(item, FunctionCall):
        return (item.id, item.type, item.name, item.call_id, item.arguments)
    return (item.id, item.type, item.name, item.call_id, item.output, item.is_error)


def _is_instructions(item: ChatItem) -> bool:
    return item.type == "message" and item.role in ("system", "developer")


class ChatContext:
    """An ordered list of chat items (messages, function calls, function outputs).

    ``items`` is a plain list you may edit; :meth:`insert` keeps ``created_at`` order, and
    :meth:`add_message` appends. Copies share the (immutable) items, never the list.
    """

    def __init__(self, items: NotGivenOr[list[ChatItem]] = NOT_GIVEN) -> None:
        self._items: list[ChatItem] = items if is_given(items) else []

    @classmethod
    def empty(cls) -> ChatContext:
        """A context with no items."""
        return cls([])

    @property
    def items(self) -> list[ChatItem]:
        """The items, oldest first."""
        return self._items

    @items.setter
    def items(self, items: list[ChatItem]) -> None:
        self._items = items

    @property
    def is_readonly(self) -> bool:
        """True for the view returned by :meth:`readonly`."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(items={self.items!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChatContext):
            return NotImplemented
        return list(self.items) == list(other.items)

    __hash__ = None  # type: ignore[assignment]

    def is_equivalent(self, other: ChatContext) -> bool:
        """Whether ``other`` holds the same items (same ids, types and content) in the same
        order, ignoring ``created_at`` stamps and metadata (``extra``, ``hash``).

        Messages compare role, ``interrupted`` and content; function calls name, call id
        and arguments; outputs name, call id, output and ``is_error``.
        """
        if self is other:
            return True
        mine, theirs = list(self.items), list(other.items)
        return len(mine) == len(theirs) and all(
            _essentials(a) == _essentials(b) for a, b in zip(mine, theirs, strict=True)
        )

    # -- adding ---------------------------------------------------------------------------

    def add_message(
        self,
        *,
        role: ChatRole,
        content: list[ChatContent] | str,
        id: NotGivenOr[str] = NOT_GIVEN,
        interrupted: NotGivenOr[bool] = NOT_GIVEN,
        created_at: NotGivenOr[float] = NOT_GIVEN,
        extra: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> ChatMessage:
        """Append a message (``content`` may be a plain string) and return it.

        With ``created_at`` given, the message is inserted at its place in time instead.
        """
        kwargs: dict[str, Any] = {}
        if is_given(extra):
            kwargs["extra"] = dict(extra)
        if is_given(id):
            kwargs["id"] = id
        if is_given(interrupted):
            kwargs["interrupted"] = interrupted
        if is_given(created_at):
            kwargs["created_at"] = created_at
        parts: list[ChatContent] = [content] if isinstance(content, str) else list(content)
        message = ChatMessage(role=role, content=parts, **kwargs)
        if is_given(created_at):
            self.insert(message)
        else:
            self._items.append(message)
        return message

    def insert(self, item: ChatItem | Sequence[ChatItem]) -> None:
        """Insert one or more items at their place by ``created_at`` (after equal stamps)."""
        items = [item] if not isinstance(item, Sequence) else list(item)
        for one in items:
            index = bisect.bisect_right([i.created_at for i in self._items], one.created_at)
            self._items.insert(index, one)

    def remove(self, item: ChatItem | str) -> None:
        """Remove an item (given, or by its id); :class:`ValueError` when it is not here."""
        item_id = item if isinstance(item, str) else item.id
        index = self.index_by_id(item_id)
        if index is None:
            raise ValueError(f"no chat item with id {item_id!r} in this context")
        del self._items[index]

    # -- lookup ---------------------------------------------------------------------------

    def get_by_id(self, item_id: str) -> ChatItem | None:
        """The item with this id, or ``None``."""
        return next((item for item in self.items if item.id == item_id), None)

    def index_by_id(self, item_id: str) -> int | None:
        """The position of the item with this id, or ``None``."""
        return next((i for i, item in enumerate(self.items) if item.id == item_id), None)

    # -- derived contexts -------------------------------------------------------------------

    def copy(
        self,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
        exclude_empty_message: bool = False,
        exclude_handoff: bool = False,
        exclude_config_update: bool = False,
        tools: NotGivenOr[Sequence[FunctionTool | str]] = NOT_GIVEN,
    ) -> ChatContext:
        """A new, mutable context with a subset of the items.

        ``exclude_function_call`` drops function calls and outputs; ``exclude_instructions``
        drops system and developer messages; ``exclude_empty_message`` drops messages without
        content; ``tools`` (tools or tool names) keeps only the calls and outputs of those
        tools. ``exclude_handoff`` and ``exclude_config_update`` are accepted for
        livekit-agents code: vagent's history has no handoff or configuration-update items,
        so they drop nothing.
        """
        del exclude_handoff, exclude_config_update  # no such items (docstring)
        valid: set[str] | None = None
        if is_given(tools):
            valid = {tool if isinstance(tool, str) else tool.info.name for tool in tools}
        items: list[ChatItem] = []
        for item in self.items:
            if item.type in _CALL_TYPES:
                if exclude_function_call:
                    continue
                if valid is not None and item.name not in valid:  # type: ignore[union-attr]
                    continue
            if exclude_instructions and _is_instructions(item):
                continue
            if exclude_empty_message and item.type == "message" and not item.content:
                continue
            items.append(item)
        return ChatContext(items)

    def truncate(self, *, max_items: int) -> ChatContext:
        """Keep only the last ``max_items`` items, in place; return ``self``.

        The result never starts with a function call or output (their pair may be gone), and
        the first system/developer message is kept in front if it would have been dropped.
        """
        if max_items < 0:
            raise ValidationError(f"max_items must be >= 0, got {max_items}")
        instructions = next((i for i in self._items if _is_instructions(i)), None)
        kept = self._items[len(self._items) - max_items :] if max_items else []
        while kept and kept[0].type in _CALL_TYPES:
            kept.pop(0)
        if instructions is not None and instructions not in kept:
            kept.insert(0, instructions)
        self._items[:] = kept
        return self

    def merge(
        self,
        other: ChatContext,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
    ) -> ChatContext:
        """Insert the items of ``other`` whose ids are not here yet, in time order; return self."""
        present = {item.id for item in self._items}
        source = other.copy(
            exclude_function_call=exclude_function_call,
            exclude_instructions=exclude_instructions,
        )
        for item in source.items:
            if item.id not in present:
                self.insert(item)
                present.add(item.id)
        return self

    async def summarize(self, llm: LLM, *, keep_last_turns: int = 2) -> ChatContext:
        """Replace the older turns with one summary written by ``llm``; return ``self``.

        The last ``keep_last_turns`` turns (a user and an assistant message each) stay as
        they are, with the tool calls between them. Older user and assistant messages and
        tool calls and outputs are sent to ``llm`` as tagged text and replaced, in place, by
        one assistant message ``<chat_history_summary>...</chat_history_summary>``;
        instructions and earlier summaries are kept, and so are items added while the LLM
        writes. Nothing changes when there is too little history or the reply is empty. Awaits one ``llm.chat`` stream; its errors
        (and cancellation) propagate and leave the context unchanged. Raises
        :class:`ValidationError` for a read-only context or a bad ``keep_last_turns``.
        """
        return await _summarize.summarize(self, llm, keep_last_turns=keep_last_turns)

    async def _summarize(self, llm_v: LLM, *, keep_last_turns: int = 2) -> ChatContext:
        """livekit-agents' name for :meth:`summarize`."""
        return await self.summarize(llm_v, keep_last_turns=keep_last_turns)

    def readonly(self) -> ReadOnlyChatContext:
        """A read-only view of this context (it sees later changes made here)."""
        return ReadOnlyChatContext(self)

    # -- (de)serialization --------------------------------------------------------------------

    def to_dict(
        self,
        *,
        exclude_image: bool = True,
        exclude_audio: bool = True,
        exclude_timestamp: bool = True,
        exclude_function_call: bool = False,
    ) -> dict[str, Any]:
        """The context as JSON-compatible data: ``{"items": [...]}``.

        Images, audio and ``created_at`` stamps are left out unless asked for; function
        calls and outputs are kept unless ``exclude_function_call``.
        """
        out: list[dict[str, Any]] = []
        for item in self.items:
            if exclude_function_call and item.type in _CALL_TYPES:
                continue
            if item.type == "message" and (exclude_image or exclude_audio):
                content = [
                    part
                    for part in item.content
                    if not (exclude_image and isinstance(part, ImageContent))
                    and not (exclude_audio and isinstance(part, AudioContent))
                ]
                item = attrs.evolve(item, content=content)
            data: dict[str, Any] = _serialization.unstructure(item)
            if exclude_timestamp:
                data.pop("created_at", None)
            out.append(data)
        return {"items": out}

    @classmethod
    def from_dict(cls, data: Any) -> ChatContext:
        """Build a context from :meth:`to_dict` output.

        Raises :class:`ValidationError` naming each bad field (``items[2].role: ...``) for
        unknown item types, missing or extra fields, and values of the wrong type.
        """
        if not isinstance(data, dict):
            raise ValidationError(f"invalid chat context: expected an object, got {data!r:.60}")
        extra = set(data) - {"items"}
        if extra or "items" not in data:
            problem = f"unexpected field(s) {sorted(extra)}" if extra else "missing 'items'"
            raise ValidationError(f"invalid chat context: {problem}")
        items = _serialization.structure(
            data["items"], list[ChatItem], what="invalid chat context", path="items"
        )
        return cls(items)


def _refuse(*_: Any, **__: Any) -> NoReturn:
    raise ValidationError(
        "this chat context is read-only: make a mutable copy with .copy() and pass it on "
        "(for an agent, through agent.update_chat_ctx())"
    )


class _ReadOnlyItems(list[ChatItem]):
    """A list view that refuses every mutation."""

    __slots__ = ()
    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse

    @overload
    def __getitem__(self, index: SupportsIndex) -> ChatItem: ...
    @overload
    def __getitem__(self, index: slice) -> list[ChatItem]: ...
    def __getitem__(self, index: SupportsIndex | slice) -> ChatItem | list[ChatItem]:
        if isinstance(index, slice):
            return list(super().__getitem__(index))
        return super().__getitem__(index)


class ReadOnlyChatContext(ChatContext):
    """A view of a :class:`ChatContext` that raises :class:`ValidationError` on any change.

    Reading (``items``, lookups, :meth:`copy`, :meth:`to_dict`) works and reflects the
    underlying context; ``copy()`` gives a mutable context.
    """

    def __init__(self, source: ChatContext) -> None:
        super().__init__([])
        self._source = source

    @property
    def items(self) -> list[ChatItem]:
        return _ReadOnlyItems(self._source.items)

    @items.setter
    def items(self, items: Iterable[ChatItem]) -> None:
        _refuse()

    @property
    def is_readonly(self) -> bool:
        return True

    add_message = insert = remove = truncate = merge = _refuse
