"""An architecture diagram of one environment, as inline SVG laid out here (no Graphviz, no fonts to load).

Layout: horizontal bands (internet edge, one per VPC subnet tier, AWS regional services, on premises)
and columns along the request path. A node's column is the longest path to it from the entry; an edge
only pushes its target one column right when both ends are in the same band, so a data store sits in
its own band under the function that uses it instead of widening the diagram. Nodes no path reaches are
placed next to their neighbours. Every colour and size is a presentation attribute: the SVG renders the
same inside the report, printed, or saved on its own.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from policies.reports.markup import Markup, el
from policies.reports.topology import EDGE, ONPREM, REGIONAL, Node, Topology

FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
# Average advances of DejaVu Sans (the widest of the fallbacks), bold 11 px and regular 10 px.
TITLE_CHAR_WIDTH, CHAR_WIDTH = 7.6, 6.4
MAX_CHARS = 32
LINE = 13
NODE_PAD = 7
MIN_WIDTH, COLUMN_GAP, ROW_GAP, MARGIN = 128, 58, 12, 14
DETOUR_ROOM = 48  # right of the last column, for edges routed around boxes
BAND_NAMES = {EDGE: "internet / AWS edge", REGIONAL: "AWS regional services (outside the VPC)",
              ONPREM: "on premises"}
BAND_FILL = {EDGE: "#f8fafc", "public": "#fff7ed", "private": "#eff6ff", "database": "#fef2f2",
             REGIONAL: "#f0fdf4", ONPREM: "#faf5ff"}
NODE_COLOURS = {"path": ("#e0ecff", "#2f5fc4"), "slot-blue": ("#dbeafe", "#1d4ed8"),
                "slot-green": ("#dcfce7", "#15803d"), "compute": ("#fff4e0", "#b45309"),
                "store": ("#f3e8ff", "#7e22ce"), "network": ("#f1f5f9", "#64748b"),
                "external": ("#fdf2f8", "#be185d")}
EDGE_STYLES = {"request": ("#1f2937", "1.6", None), "data": ("#7e22ce", "1.3", "6 4"),
               "network": ("#b91c1c", "1.3", "2 3")}
LEGEND = (("request", "request path (weights in %)"), ("data", "data access (IAM) / migration"),
          ("network", "network reachability (security groups)"))


def _fit(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def common_prefix(topology: Topology) -> str:
    """The naming prefix most blocks share (``<project>-<env>-``): shown once, not in every box."""
    counts = Counter(m.group(0) for m in (re.match(r"[^-]+-[^-]+-", n.title) for n in topology.nodes.values()) if m)
    prefix, count = counts.most_common(1)[0] if counts else ("", 0)
    return prefix if count * 2 >= len(topology.nodes) else ""


def _lines(node: Node, prefix: str) -> list[str]:
    title = node.title
    if prefix and title.startswith(prefix) and title != prefix:
        title = title[len(prefix):]
    return [_fit(node.kind), _fit(title)] + [_fit(d) for d in node.details]


@dataclass
class _Box:
    x: float
    y: float
    width: float
    height: float


def _columns(topology: Topology) -> dict[str, int]:
    nodes, edges = topology.nodes, topology.edges
    column = {n.id: 0 for n in nodes.values()
              if not any(e.target == n.id for e in edges) and any(e.source == n.id and e.style == "request"
                                                                   for e in edges)}
    for _ in range(len(nodes)):  # longest path, bounded: a cycle cannot loop forever
        changed = False
        for edge in edges:
            if edge.source in column:
                step = 1 if nodes[edge.source].band == nodes[edge.target].band else 0
                if column.get(edge.target, -1) < column[edge.source] + step:
                    column[edge.target] = column[edge.source] + step
                    changed = True
        if not changed:
            break
    placed = True
    while placed:  # off the request path: beside the nearest placed neighbour
        placed = False
        for node in nodes.values():
            if node.id in column:
                continue
            neighbours = [column[e.target] for e in edges if e.source == node.id and e.target in column] + \
                         [column[e.source] for e in edges if e.target == node.id and e.source in column]
            if neighbours:
                column[node.id] = min(neighbours)
                placed = True
    order = {band: index for index, band in enumerate(topology.bands)}
    crossed = {(band, column[e.source]) for e in edges if e.source in column and e.target in column
               and column[e.source] == column[e.target] for band in topology.bands
               if min(order[nodes[e.source].band], order[nodes[e.target].band]) < order[band]
               < max(order[nodes[e.source].band], order[nodes[e.target].band])}
    for node in nodes.values():
        if node.id not in column:  # unconnected: the first column no vertical edge runs through
            free = 0
            while (node.band, free) in crossed:
                free += 1
            column[node.id] = free
            crossed.add((node.band, free))
    return column


def _node_height(node: Node, prefix: str) -> float:
    return NODE_PAD * 2 + LINE * len(_lines(node, prefix))


def _node_width(node: Node, prefix: str) -> float:
    lines = _lines(node, prefix)
    return max(MIN_WIDTH, NODE_PAD * 2 + max(TITLE_CHAR_WIDTH * len(lines[1]),
                                             CHAR_WIDTH * max(len(line) for line in lines[:1] + lines[2:])))


def _overlaps(box: _Box, x: float, top: float, bottom: float) -> bool:
    return box.x - 2 <= x <= box.x + box.width + 2 and box.y < bottom and box.y + box.height > top


def _route(source: _Box, target: _Box, obstacles: list[_Box], shift: float,
           detours: dict[float, int]) -> tuple[str, float, float, str]:
    """A path between two boxes, its label point and the label's anchor. Edges within one column run
    straight down, or through the gap right of the column when another box is in the way; ``shift``
    separates parallel edges between the same two boxes."""
    if target.x > source.x + source.width / 2 or target.x + target.width < source.x + source.width / 2:
        forward = target.x > source.x
        x1 = source.x + (source.width if forward else 0)
        x2 = target.x + (0 if forward else target.width)
        y1, y2 = source.y + source.height / 2 + shift, target.y + target.height / 2 + shift
        bend = max(24.0, abs(x2 - x1) / 2) * (1 if forward else -1)
        c1, c2 = (x1 + bend, y1), (x2 - bend, y2)
        path = f"M{x1:.1f},{y1:.1f} C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {x2:.1f},{y2:.1f}"
        return path, (x1 + 3 * c1[0] + 3 * c2[0] + x2) / 8, (y1 + 3 * c1[1] + 3 * c2[1] + y2) / 8 - 3, "middle"
    down = target.y > source.y
    x = source.x + source.width / 2 + shift
    y1 = source.y + (source.height if down else 0)
    y2 = target.y + (0 if down else target.height)
    top, bottom = min(y1, y2), max(y1, y2)
    if not any(_overlaps(box, x, top, bottom) for box in obstacles if box is not source and box is not target):
        return f"M{x:.1f},{y1:.1f} L{x:.1f},{y2:.1f}", x + 4, (y1 + y2) / 2 + shift * 1.3, "start"
    right = max(source.x + source.width, target.x + target.width)
    lane = detours.get(right, 0)
    detours[right] = lane + 1
    gx = right + 12 + 9 * lane
    sy, ty = source.y + source.height / 2 + shift, target.y + target.height / 2 + shift
    sx, tx = source.x + source.width, target.x + target.width
    turn = 6.0 if ty > sy else -6.0
    path = (f"M{sx:.1f},{sy:.1f} H{gx - 6:.1f} Q{gx:.1f},{sy:.1f} {gx:.1f},{sy + turn:.1f} "
            f"V{ty - turn:.1f} Q{gx:.1f},{ty:.1f} {gx - 6:.1f},{ty:.1f} H{tx:.1f}")
    return path, gx + 4, (sy + ty) / 2, "start"


def _text(x: float, y: float, content: str, size: float = 11, weight: str | None = None, fill: str = "#111827",
          anchor: str | None = None) -> Markup:
    return el("text", content, x=f"{x:.1f}", y=f"{y:.1f}", font_size=size, font_weight=weight, fill=fill,
              text_anchor=anchor)


def render_svg(topology: Topology, diagram_id: str) -> Markup:
    """The diagram as an ``<svg>`` element; diagram_id keeps marker ids unique within one HTML page."""
    marker = re.sub(r"[^A-Za-z0-9_-]", "_", diagram_id)
    prefix = common_prefix(topology)
    nodes = topology.nodes
    column = _columns(topology)
    columns = sorted(set(column.values()))
    widths = {c: max(_node_width(n, prefix) for n in nodes.values() if column[n.id] == c) for c in columns}
    x_of, x = {}, MARGIN + 8.0
    for c in columns:
        x_of[c] = x
        x += widths[c] + COLUMN_GAP
    width = max(x - COLUMN_GAP + MARGIN + 8 + DETOUR_ROOM, 760.0)

    boxes: dict[str, _Box] = {}
    parts: list[Markup] = []
    band_boxes: dict[str, tuple[float, float]] = {}
    y: float = MARGIN
    vpc_bands = topology.vpc_bands
    for band in topology.bands:
        if vpc_bands and band == vpc_bands[0]:
            y += 24  # room for the VPC's own label
        notes = topology.band_notes.get(band, [])
        header = 20 + LINE * len(notes)
        stacks: dict[int, float] = {}
        for node in nodes.values():
            if node.band != band:
                continue
            c = column[node.id]
            top = y + header + stacks.get(c, 0.0)
            boxes[node.id] = _Box(x_of[c] + (widths[c] - _node_width(node, prefix)) / 2, top, _node_width(node, prefix),
                                  _node_height(node, prefix))
            stacks[c] = stacks.get(c, 0.0) + _node_height(node, prefix) + ROW_GAP
        height = header + max(stacks.values(), default=0.0) + 6
        band_boxes[band] = (y, height)
        label = BAND_NAMES.get(band, f"{band} subnets")
        parts.append(el("rect", x=MARGIN, y=f"{y:.1f}", width=f"{width - 2 * MARGIN:.1f}", height=f"{height:.1f}",
                        fill=BAND_FILL.get(band, "#f8fafc"), stroke="#cbd5e1", stroke_width="0.8", rx="4"))
        parts.append(_text(MARGIN + 8, y + 14, label, size=11, weight="bold", fill="#334155"))
        parts.extend(_text(MARGIN + 8, y + 14 + LINE * (i + 1), note, size=10, fill="#475569")
                     for i, note in enumerate(notes))
        y += height + 8
    if vpc_bands:
        top = band_boxes[vpc_bands[0]][0] - 22
        bottom = band_boxes[vpc_bands[-1]][0] + band_boxes[vpc_bands[-1]][1] + 4
        parts.append(el("rect", x=MARGIN - 6, y=f"{top:.1f}", width=f"{width - 2 * MARGIN + 12:.1f}",
                        height=f"{bottom - top:.1f}", fill="none", stroke="#0f172a", stroke_width="1.4",
                        stroke_dasharray="8 4", rx="6"))
        parts.append(_text(MARGIN + 2, top + 15, topology.vpc_note or "VPC", size=11, weight="bold", fill="#0f172a"))

    pairs: dict[frozenset[str], int] = {}
    for edge in topology.edges:
        pairs[frozenset((edge.source, edge.target))] = pairs.get(frozenset((edge.source, edge.target)), 0) + 1
    seen: dict[frozenset[str], int] = {}
    detours: dict[float, int] = {}
    obstacles = list(boxes.values())
    for edge in topology.edges:
        colour, stroke, dash = EDGE_STYLES[edge.style]
        pair = frozenset((edge.source, edge.target))
        index = seen[pair] = seen.get(pair, -1) + 1
        shift = (index - (pairs[pair] - 1) / 2) * 10
        path, mx, my, anchor = _route(boxes[edge.source], boxes[edge.target], obstacles, shift, detours)
        parts.append(el("path", el("title", f"{nodes[edge.source].title} → {nodes[edge.target].title}"
                                   + (f": {edge.label}" if edge.label else "")),
                        d=path, fill="none", stroke=colour, stroke_width=stroke, stroke_dasharray=dash,
                        marker_end=f"url(#{marker}-{edge.style})", class_=f"edge edge-{edge.style}"))
        if edge.label:
            parts.append(el("text", _fit(edge.label), x=f"{mx:.1f}", y=f"{my:.1f}", font_size="9.5",
                            fill=colour, text_anchor=anchor, stroke="#ffffff", stroke_width="3",
                            paint_order="stroke", stroke_linejoin="round"))
    for node in nodes.values():
        box = boxes[node.id]
        fill, stroke = NODE_COLOURS.get(node.style, NODE_COLOURS["network"])
        lines = _lines(node, prefix)
        texts = [_text(box.x + NODE_PAD, box.y + NODE_PAD + 10, lines[0], size=9.5, fill="#475569"),
                 _text(box.x + NODE_PAD, box.y + NODE_PAD + 10 + LINE, lines[1], size=11, weight="bold")]
        texts += [_text(box.x + NODE_PAD, box.y + NODE_PAD + 10 + LINE * (i + 2), line, size=10, fill="#1f2937")
                  for i, line in enumerate(lines[2:])]
        parts.append(el("g", el("title", f"{node.kind}: {node.title}" + (f" ({node.address})" if node.address else "")
                                + "".join(f"\n{d}" for d in node.details)),
                        el("rect", x=f"{box.x:.1f}", y=f"{box.y:.1f}", width=f"{box.width:.1f}",
                           height=f"{box.height:.1f}", rx="6", fill=fill, stroke=stroke, stroke_width="1.2"),
                        texts, class_=f"node node-{node.style}", data_address=node.address))

    legend_y = y + 6
    legend = []
    for index, (style, text) in enumerate(LEGEND):
        colour, stroke, dash = EDGE_STYLES[style]
        lx = MARGIN + 8 + index * 250
        legend.append(el("path", d=f"M{lx},{legend_y:.1f} h34", stroke=colour, stroke_width=stroke,
                         stroke_dasharray=dash, marker_end=f"url(#{marker}-{style})"))
        legend.append(_text(lx + 42, legend_y + 4, text, size=10, fill="#334155"))
    if prefix:
        legend.append(_text(MARGIN + 8 + len(LEGEND) * 250, legend_y + 4, f"names shown without “{prefix}”",
                            size=10, fill="#334155"))
    height = legend_y + 18
    markers = [el("marker", el("path", d="M0,0 L10,5 L0,10 z", fill=colour), id=f"{marker}-{style}",
                  viewBox="0 0 10 10", refX="9", refY="5", markerWidth="7", markerHeight="7",
                  orient="auto-start-reverse")
               for style, (colour, _, _) in EDGE_STYLES.items()]
    return el("svg", el("title", f"Architecture of {topology.environment}, derived from the synthesized stacks"),
              el("defs", markers), parts, legend,
              xmlns="http://www.w3.org/2000/svg", viewBox=f"0 0 {width:.0f} {height:.0f}", width=f"{width:.0f}",
              height=f"{height:.0f}", role="img", font_family=FONT, class_="architecture",
              aria_label=f"Architecture diagram of the {topology.environment} environment")
