"""Read an ESC/POS byte stream back into meaning: styled text lines, QR codes, cuts, queries.

Pure functions and frozen values only; the printer emulator and the tests use them to check
what a driver really sent. Commands the decoder does not know are reported as ``Unknown``
elements, never skipped silently.

>>> [e.text for e in decode(b"\\x1b@\\x1ba\\x01Nomor\\n") if isinstance(e, TextLine)]
['Nomor']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C
LF, CR, HT = 0x0A, 0x0D, 0x09

# The code pages a ticket may select with ESC t n, and how to read them back.
CODE_PAGES: dict[int, str] = {0: "cp437", 2: "cp850", 16: "cp1252", 19: "cp858"}


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True)
class Style:
    """Character style in effect: ``width``/``height`` are magnifications 1..8."""

    bold: bool = False
    underline: int = 0
    width: int = 1
    height: int = 1
    font: int = 0
    invert: bool = False
    upside_down: bool = False

    @property
    def big(self) -> bool:
        return self.width > 1 or self.height > 1


@dataclass(frozen=True)
class TextRun:
    text: str
    style: Style


@dataclass(frozen=True)
class TextLine:
    """One printed line (ended by LF, a feed or a cut): its runs of styled text.

    >>> TextLine((TextRun("A-", Style(width=2)), TextRun("007", Style(width=2)))).text
    'A-007'
    """

    runs: tuple[TextRun, ...]
    align: Align = Align.LEFT

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)

    @property
    def bold(self) -> bool:
        """True when every visible character is bold."""
        visible = [r for r in self.runs if r.text.strip()]
        return bool(visible) and all(r.style.bold for r in visible)

    @property
    def width(self) -> int:
        return max((r.style.width for r in self.runs if r.text.strip()), default=1)

    @property
    def height(self) -> int:
        return max((r.style.height for r in self.runs if r.text.strip()), default=1)

    @property
    def big(self) -> bool:
        return self.width > 1 or self.height > 1


@dataclass(frozen=True)
class QrCode:
    """A native QR symbol printed with GS ( k (function 181); ``ec`` is L, M, Q or H."""

    payload: str
    module_size: int
    ec: str
    model: int


@dataclass(frozen=True)
class Feed:
    """Paper fed: ``amount`` lines (ESC d) or dots (ESC J)."""

    amount: int
    dots: bool = False


@dataclass(frozen=True)
class Cut:
    partial: bool
    feed: int = 0  # dots fed before the cut (GS V 65/66 n)


@dataclass(frozen=True)
class Init:
    """ESC @: printer initialised; style back to defaults."""


@dataclass(frozen=True)
class StatusQuery:
    """A real-time status request the printer answers at once: DLE EOT n (1..4)."""

    n: int


@dataclass(frozen=True)
class Unknown:
    """Bytes the decoder could not give a meaning to, with the reason."""

    data: bytes
    reason: str


Element = TextLine | QrCode | Feed | Cut | Init | StatusQuery | Unknown


@dataclass(frozen=True)
class DecoderState:
    """What the printer remembers between commands: style, line buffer, stored QR data."""

    style: Style = Style()
    align: Align = Align.LEFT
    code_page: int = 0
    runs: tuple[TextRun, ...] = ()
    qr_data: bytes | None = None
    qr_size: int = 3
    qr_ec: str = "L"
    qr_model: int = 2
    line_spacing: int | None = None


@dataclass(frozen=True)
class Decoded:
    """Result of decoding a chunk: elements, state to continue with, bytes not yet complete."""

    elements: tuple[Element, ...]
    state: DecoderState
    rest: bytes


Step = tuple[DecoderState, list[Element]]
Handler = Callable[[DecoderState, bytes], Step]


# --- text --------------------------------------------------------------------------------


def _add_text(state: DecoderState, raw: bytes) -> DecoderState:
    text = raw.decode(CODE_PAGES.get(state.code_page, "latin-1"), errors="replace")
    runs = state.runs
    if runs and runs[-1].style == state.style:
        runs = (*runs[:-1], TextRun(runs[-1].text + text, state.style))
    else:
        runs = (*runs, TextRun(text, state.style))
    return replace(state, runs=runs)


def _end_line(state: DecoderState, *, force: bool) -> Step:
    """Print the line buffer; ``force`` prints an empty line too (LF does, a cut does not)."""
    if not state.runs and not force:
        return state, []
    return replace(state, runs=()), [TextLine(state.runs, state.align)]


# --- fixed-length commands: prefix -> (parameter bytes, handler) ---------------------------


def _init(state: DecoderState, _: bytes) -> Step:
    return DecoderState(), [*_end_line(state, force=False)[1], Init()]


def _print_mode(state: DecoderState, p: bytes) -> Step:
    n = p[0]
    style = replace(
        state.style,
        font=n & 0x01,
        bold=bool(n & 0x08),
        height=2 if n & 0x10 else 1,
        width=2 if n & 0x20 else 1,
        underline=1 if n & 0x80 else 0,
    )
    return replace(state, style=style), []


def _size(state: DecoderState, p: bytes) -> Step:
    width, height = (p[0] >> 4) + 1, (p[0] & 0x0F) + 1
    if width > 8 or height > 8:
        return state, [Unknown(bytes([GS, 0x21, p[0]]), "character size out of range")]
    return replace(state, style=replace(state.style, width=width, height=height)), []


def _flag(name: str) -> Handler:
    """ESC E / ESC G / GS B / ESC { n: an on/off style set by bit 0 of n."""

    def handler(state: DecoderState, p: bytes) -> Step:
        return replace(state, style=replace(state.style, **{name: bool(p[0] & 0x01)})), []

    return handler


def _underline(state: DecoderState, p: bytes) -> Step:
    thickness = p[0] - 48 if p[0] >= 48 else p[0]
    if thickness not in (0, 1, 2):
        return state, [Unknown(bytes([ESC, 0x2D, p[0]]), "bad underline mode")]
    return replace(state, style=replace(state.style, underline=thickness)), []


def _align(state: DecoderState, p: bytes) -> Step:
    aligns = {0: Align.LEFT, 1: Align.CENTER, 2: Align.RIGHT}
    align = aligns.get(p[0] % 48 if p[0] >= 48 else p[0])
    if align is None:
        return state, [Unknown(bytes([ESC, 0x61, p[0]]), "bad alignment")]
    return replace(state, align=align), []


def _code_page(state: DecoderState, p: bytes) -> Step:
    if p[0] not in CODE_PAGES:
        return state, [Unknown(bytes([ESC, 0x74, p[0]]), "code page not supported")]
    return replace(state, code_page=p[0]), []


def _font(state: DecoderState, p: bytes) -> Step:
    return replace(state, style=replace(state.style, font=p[0] % 48 if p[0] >= 48 else p[0])), []


def _feed_lines(state: DecoderState, p: bytes) -> Step:
    state, printed = _end_line(state, force=False)
    return state, [*printed, Feed(p[0])]


def _feed_dots(state: DecoderState, p: bytes) -> Step:
    state, printed = _end_line(state, force=False)
    return state, [*printed, Feed(p[0], dots=True)]


def _spacing(state: DecoderState, p: bytes) -> Step:
    return replace(state, line_spacing=p[0] if p else None), []


def _no_effect(state: DecoderState, _: bytes) -> Step:
    """Known commands that change nothing the decoder reports (density, smoothing)."""
    return state, []


def _status(state: DecoderState, p: bytes) -> Step:
    if p[0] not in (1, 2, 3, 4):
        return state, [Unknown(bytes([DLE, 0x04, p[0]]), "status query n not in 1..4")]
    return state, [StatusQuery(p[0])]


FIXED: dict[bytes, tuple[int, Handler]] = {
    bytes([ESC, 0x40]): (0, _init),
    bytes([ESC, 0x21]): (1, _print_mode),
    bytes([ESC, 0x45]): (1, _flag("bold")),
    bytes([ESC, 0x47]): (1, _flag("bold")),  # double-strike prints as bold
    bytes([ESC, 0x2D]): (1, _underline),
    bytes([ESC, 0x7B]): (1, _flag("upside_down")),
    bytes([ESC, 0x61]): (1, _align),
    bytes([ESC, 0x74]): (1, _code_page),
    bytes([ESC, 0x4D]): (1, _font),
    bytes([ESC, 0x64]): (1, _feed_lines),
    bytes([ESC, 0x4A]): (1, _feed_dots),
    bytes([ESC, 0x32]): (0, _spacing),
    bytes([ESC, 0x33]): (1, _spacing),
    bytes([GS, 0x21]): (1, _size),
    bytes([GS, 0x42]): (1, _flag("invert")),
    bytes([GS, 0x62]): (1, _no_effect),
    bytes([GS, 0x7C]): (1, _no_effect),
    bytes([DLE, 0x04]): (1, _status),
}


# --- variable-length commands --------------------------------------------------------------


def _cut(state: DecoderState, buf: bytes, i: int) -> tuple[int, Step] | None:
    """GS V m (m = 0, 1, 48, 49) or GS V m n (m = 65, 66)."""
    if len(buf) < i + 3:
        return None
    m = buf[i + 2]
    state, printed = _end_line(state, force=False)
    if m in (0, 1, 48, 49):
        return i + 3, (state, [*printed, Cut(partial=m in (1, 49))])
    if m in (65, 66):
        if len(buf) < i + 4:
            return None
        return i + 4, (state, [*printed, Cut(partial=m == 66, feed=buf[i + 3])])
    return i + 3, (state, [*printed, Unknown(buf[i : i + 3], "cut mode not supported")])


QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}


def _qr(state: DecoderState, fn: int, params: bytes, raw: bytes) -> Step:
    """One GS ( k function of the QR symbol (cn = 49)."""
    if fn == 65 and len(params) >= 1:  # model: 49 = model 1, 50 = model 2, 51 = micro
        return replace(state, qr_model=params[0] - 48), []
    if fn == 67 and len(params) == 1:
        return replace(state, qr_size=params[0]), []
    if fn == 69 and len(params) == 1 and params[0] in QR_EC:
        return replace(state, qr_ec=QR_EC[params[0]]), []
    if fn == 80 and params[:1] == b"0":
        return replace(state, qr_data=params[1:]), []
    if fn == 81 and params == b"0":
        if state.qr_data is None:
            return state, [Unknown(raw, "QR print with no stored data")]
        payload = state.qr_data.decode("utf-8", errors="replace")
        state, printed = _end_line(state, force=False)
        return state, [*printed, QrCode(payload, state.qr_size, state.qr_ec, state.qr_model)]
    return state, [Unknown(raw, f"QR function {fn} not supported")]


def _gs_paren(state: DecoderState, buf: bytes, i: int) -> tuple[int, Step] | None:
    """GS ( x pL pH data: every such function carries its own length."""
    if len(buf) < i + 5:
        return None
    length = buf[i + 3] | buf[i + 4] << 8
    end = i + 5 + length
    if len(buf) < end:
        return None
    raw, body = buf[i:end], buf[i + 5 : end]
    if buf[i + 2] == 0x6B and length >= 2 and body[0] == 49:
        return end, _qr(state, body[1], body[2:], raw)
    return end, (state, [Unknown(raw, "GS ( function not supported")])


VARIABLE: dict[bytes, Callable[[DecoderState, bytes, int], tuple[int, Step] | None]] = {
    bytes([GS, 0x56]): _cut,
    bytes([GS, 0x28]): _gs_paren,
}


# --- the decoder ---------------------------------------------------------------------------


def _command(state: DecoderState, buf: bytes, i: int) -> tuple[int, Step] | None:
    """Decode the command at ``buf[i]`` (a prefix byte); None when it is not complete yet."""
    if len(buf) < i + 2:
        return None
    prefix = buf[i : i + 2]
    if prefix in FIXED:
        count, handler = FIXED[prefix]
        end = i + 2 + count
        if len(buf) < end:
            return None
        return end, handler(state, buf[i + 2 : end])
    if prefix in VARIABLE:
        return VARIABLE[prefix](state, buf, i)
    return i + 2, (state, [Unknown(prefix, "unknown command")])


def _text_end(buf: bytes, i: int) -> int:
    while i < len(buf) and (buf[i] >= 0x20 or buf[i] == HT):
        i += 1
    return i


def decode_some(data: bytes, state: DecoderState = DecoderState()) -> Decoded:
    """Decode as much of ``data`` as is complete; the rest waits for more bytes.

    Text not yet ended by LF stays in ``state`` (as the printer's line buffer does).
    """
    elements: list[Element] = []
    i = 0
    while i < len(data):
        byte = data[i]
        if byte >= 0x20 or byte == HT:
            end = _text_end(data, i)
            state, i = _add_text(state, data[i:end]), end
        elif byte == LF:
            state, printed = _end_line(state, force=True)
            elements += printed
            i += 1
        elif byte == CR:
            i += 1
        elif byte in (ESC, GS, DLE, FS):
            step = _command(state, data, i)
            if step is None:
                break
            i, (state, found) = step
            elements += found
        else:
            elements.append(Unknown(data[i : i + 1], "unknown control byte"))
            i += 1
    return Decoded(tuple(elements), state, data[i:])


def decode(data: bytes) -> list[Element]:
    """Decode a whole stream; text left in the line buffer and cut-off commands are reported.

    >>> decode(b"\\x1d!\\x11A-007\\n\\x1dV\\x00")[0].width
    2
    """
    result = decode_some(data)
    elements = list(result.elements)
    elements += _end_line(result.state, force=False)[1]
    if result.rest:
        elements.append(Unknown(result.rest, "stream ends inside a command"))
    return elements


class StreamDecoder:
    """Decodes a stream that arrives in chunks (as from a serial port).

    >>> d = StreamDecoder()
    >>> d.feed(b"\\x1b"), d.feed(b"E\\x01Hai\\n")[0].bold
    ([], True)
    """

    def __init__(self) -> None:
        self._state = DecoderState()
        self._pending = b""

    def feed(self, data: bytes) -> list[Element]:
        result = decode_some(self._pending + data, self._state)
        self._state, self._pending = result.state, result.rest
        return list(result.elements)
