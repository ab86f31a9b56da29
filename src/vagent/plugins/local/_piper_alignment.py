"""A piper voice model that also outputs its phoneme durations, without the ``onnx`` package.

Piper voices compute how many audio samples each phoneme gets (the output of the graph's one
``Ceil`` node) but do not output it. Piper's own ``include_alignments`` marks that tensor as
a graph output with the ``onnx`` package, whose import alone takes about 2 s. The change is
tiny, so we make it on the serialized model directly: find the ``Ceil`` node's output name
and append one ``ValueInfoProto`` naming it to the graph's outputs. Reading the protobuf
wire format takes a few tens of milliseconds for a 60 MB voice.

ONNX field numbers used (onnx.proto): ``ModelProto.graph = 7``; ``GraphProto.node = 1``,
``GraphProto.output = 12``; ``NodeProto.output = 2``, ``NodeProto.op_type = 4``;
``ValueInfoProto.name = 1``.
"""

from __future__ import annotations

from collections.abc import Iterator

_LEN = 2  # wire type of length-delimited fields
_MODEL_GRAPH, _GRAPH_NODE, _GRAPH_OUTPUT = 7, 1, 12
_NODE_OUTPUT, _NODE_OP_TYPE, _VALUE_INFO_NAME = 2, 4, 1


class NotAVoiceModel(ValueError):
    """The bytes are not an ONNX model with exactly one ``Ceil`` node."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise NotAVoiceModel("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value start, value end) of each field in ``buf[start:end]``."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, value_end = _varint(buf, pos)
        elif wire_type == 1:
            value_end = pos + 8
        elif wire_type == 5:
            value_end = pos + 4
        elif wire_type == _LEN:
            length, pos = _varint(buf, pos)
            value_end = pos + length
        else:
            raise NotAVoiceModel(f"unsupported protobuf wire type {wire_type}")
        if value_end > end:
            raise NotAVoiceModel("truncated field")
        yield number, wire_type, pos, value_end
        pos = value_end


def _strings(buf: bytes, start: int, end: int, number: int) -> list[str]:
    return [
        buf[s:e].decode()
        for n, wire_type, s, e in _fields(buf, start, end)
        if n == number and wire_type == _LEN
    ]


def with_alignment_output(model: bytes) -> bytes:
    """``model`` (a serialized ONNX voice) with its ``Ceil`` tensor added to the outputs
    (unchanged when it is an output already).

    Raises :class:`NotAVoiceModel` when there is no graph or no single ``Ceil`` node.
    """
    graph = [
        (s, e) for n, w, s, e in _fields(model, 0, len(model)) if (n, w) == (_MODEL_GRAPH, _LEN)
    ]
    if len(graph) != 1:
        raise NotAVoiceModel("no ONNX graph found")
    start, end = graph[0]
    ceil: set[str] = set()
    outputs: set[str] = set()
    for number, wire_type, s, e in _fields(model, start, end):
        if wire_type != _LEN:
            continue
        if number == _GRAPH_NODE and _strings(model, s, e, _NODE_OP_TYPE) == ["Ceil"]:
            ceil.update(_strings(model, s, e, _NODE_OUTPUT))
        elif number == _GRAPH_OUTPUT:
            outputs.update(_strings(model, s, e, _VALUE_INFO_NAME))
    if len(ceil) != 1:
        raise NotAVoiceModel(f"expected one Ceil tensor, found {sorted(ceil)}")
    (name,) = ceil
    if name in outputs:  # patched before (piper's patch_voice_with_alignment): as is
        return model
    encoded = name.encode()
    value_info = _encode_varint(_VALUE_INFO_NAME << 3 | _LEN) + _encode_varint(len(encoded))
    value_info += encoded
    extra = _encode_varint(_GRAPH_OUTPUT << 3 | _LEN) + _encode_varint(len(value_info))
    extra += value_info
    # the graph field's key and length prefix sit right before its value
    key = _encode_varint(_MODEL_GRAPH << 3 | _LEN)
    prefix = key + _encode_varint(end - start)
    if model[start - len(prefix) : start] != prefix:
        raise NotAVoiceModel("the graph's length is not minimally encoded")
    view = memoryview(model)  # one copy of the model, in the join
    new_length = _encode_varint(end - start + len(extra))
    return b"".join(
        [view[: start - len(prefix)], key, new_length, view[start:end], extra, view[end:]]
    )
