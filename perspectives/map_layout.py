"""Where the strategy map draws things: perspective bands stacked with the first perspective (financial)
on top, each band's objectives side by side, and cause→effect arrows between objective boxes.

Pure Python (no Django): it lays out whatever ids and names it is given, so the page that colours the
objectives by score can live in the app that computes scores.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 1000
BAND_HEIGHT = 180
LABEL_WIDTH = 150  # the band's name on the left
BOX_HEIGHT = 108
GAP = 18
LINE_CHARS = 24  # characters per line of an objective's name in the widest box
CHAR_WIDTH = 8.6  # of the 14px semi-bold label font, on average


@dataclass(frozen=True)
class Box:
    id: int
    x: float
    y: float
    width: float
    height: float
    lines: tuple[str, ...]  # the name, wrapped

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Band:
    id: int
    name: str
    y: float
    note: str  # e.g. the customer value proposition, shortened


@dataclass(frozen=True)
class Arrow:
    cause: int
    effect: int
    path: str  # SVG path data


@dataclass(frozen=True)
class MapLayout:
    width: int
    height: int
    bands: list[Band]
    boxes: dict[int, Box]
    arrows: list[Arrow]


def wrap(text: str, width: int = LINE_CHARS, lines: int = 3) -> tuple[str, ...]:
    """Words in lines of at most ``width`` characters; the last line ends with … when text is left."""
    out: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return tuple(out)


def layout(
    bands: list[tuple[int, str, str]],
    objectives: list[tuple[int, int, str]],
    links: list[tuple[int, int]],
) -> MapLayout:
    """``bands``: (perspective id, name, note) top to bottom; ``objectives``: (id, perspective id, name) in
    display order; ``links``: (cause objective id, effect objective id)."""
    placed_bands = []
    boxes: dict[int, Box] = {}
    for row, (perspective_id, name, note) in enumerate(bands):
        y = row * BAND_HEIGHT
        placed_bands.append(Band(perspective_id, name, y, " ".join(wrap(note, 90, 1)) if note else ""))
        members = [o for o in objectives if o[1] == perspective_id]
        if not members:
            continue
        room = WIDTH - LABEL_WIDTH - GAP
        box_width = min(240.0, room / len(members) - GAP)
        used = len(members) * box_width + (len(members) - 1) * GAP
        x = LABEL_WIDTH + (room - used) / 2 + GAP / 2
        top = y + (BAND_HEIGHT - BOX_HEIGHT) / 2 + (8 if note else 0)
        chars = max(10, min(LINE_CHARS, int((box_width - 12) / CHAR_WIDTH)))
        for objective_id, _perspective, objective_name in members:
            lines = wrap(objective_name, chars)
            boxes[objective_id] = Box(objective_id, x, top, box_width, BOX_HEIGHT - 8, lines)
            x += box_width + GAP
    arrows = [Arrow(c, e, _path(boxes[c], boxes[e])) for c, e in links if c in boxes and e in boxes]
    return MapLayout(WIDTH, len(bands) * BAND_HEIGHT, placed_bands, boxes, arrows)


def _path(cause: Box, effect: Box) -> str:
    """From the cause's edge facing the effect to the effect's facing edge, as a gentle curve."""
    if cause.y > effect.y:  # the usual way: up the map
        start, end = (cause.center_x, cause.y), (effect.center_x, effect.y + effect.height)
    elif cause.y < effect.y:
        start, end = (cause.center_x, cause.y + cause.height), (effect.center_x, effect.y)
    else:  # same band: side to side, arching above
        left, right = (cause, effect) if cause.x < effect.x else (effect, cause)
        y = cause.y
        sx = cause.x + cause.width if cause is left else cause.x
        ex = effect.x if effect is right else effect.x + effect.width
        return (
            f"M {sx:.1f} {y + 20:.1f} C {sx:.1f} {y - 25:.1f}, {ex:.1f} {y - 25:.1f}, {ex:.1f} {y + 20:.1f}"
        )
    middle = (start[1] + end[1]) / 2
    return (
        f"M {start[0]:.1f} {start[1]:.1f} C {start[0]:.1f} {middle:.1f}, "
        f"{end[0]:.1f} {middle:.1f}, {end[0]:.1f} {end[1]:.1f}"
    )
