"""The lineage picture: a job's RDDs in their stages, drawn as SVG on the server.

The layout is the one Spark's UI draws, computed here in a few lines
rather than with a JavaScript layout library: stages are boxes side by
side, parents on the left; inside a stage each RDD sits one row below the
RDDs it reads (its depth within the stage), so a narrow chain reads top to
bottom and a shuffle is an arrow from one box to the next.  Colours tell a
stage's state: running (blue), done (green), failed (red), skipped (grey,
dashed: its shuffle output was already there) or not yet run (white).  A
cached RDD carries a green dot.  Every stage and RDD is a ``<g>`` with
``data-`` attributes, so tests and scripts can read the picture.
"""
from html import escape

__all__ = ["render_job_graph"]

NODE_W, NODE_H, GAP, PAD, HEADER = 190, 44, 18, 12, 24

_STAGE_STYLE = {
    "ACTIVE": ("#e8f1fb", "#2f6fb5", ""),
    "COMPLETE": ("#eef7ee", "#4a9a4a", ""),
    "FAILED": ("#fbeaea", "#c0392b", ""),
    "SKIPPED": ("#f3f3f3", "#a0a0a0", ' stroke-dasharray="6 4"'),
    "PENDING": ("#ffffff", "#8a8a8a", ""),
}


def _short(text, width):
    return text if len(text) <= width else text[:width - 1] + "\u2026"


def _depths(members, edges, key):
    """Row of each RDD in its stage: one below the deepest parent inside the stage."""
    parents = {r: [] for r in members}
    for k1, a, k2, b in edges:
        if k1 == key and k2 == key and a in parents and b in parents:
            parents[b].append(a)
    depth = {}

    def of(r, trail=()):
        if r not in depth:
            if r in trail:  # never in a lineage; guards the recursion
                return 0
            depth[r] = 1 + max((of(p, trail + (r,)) for p in parents[r]), default=-1)
        return depth[r]

    for r in members:
        of(r)
    return depth


def render_job_graph(graph, status):
    """SVG of ``graph`` (``JobStart.graph``); ``status``: shuffle key -> (stage id, state)."""
    stages = graph.get("stages") or []
    if not stages:
        return '<p class="empty">No lineage recorded for this job.</p>'
    rdds = graph.get("rdds", {})
    edges = graph.get("edges", [])
    boxes, where, x = [], {}, 0
    for stage in stages:
        key = stage["key"]
        depth = _depths(stage["rdds"], edges, key)
        rows = {}
        for r in sorted(stage["rdds"]):
            rows.setdefault(depth[r], []).append(r)
        width = max(len(v) for v in rows.values()) * (NODE_W + GAP) - GAP + 2 * PAD
        height = HEADER + len(rows) * (NODE_H + GAP) - GAP + 2 * PAD
        for d, members in rows.items():
            for i, r in enumerate(members):
                where[(key, r)] = (x + PAD + i * (NODE_W + GAP), HEADER + PAD + d * (NODE_H + GAP))
        boxes.append((stage, x, width, height))
        x += width + 3 * GAP
    total_w = x - 3 * GAP + 2
    total_h = max(h for _, _, _, h in boxes) + 2
    out = [f'<svg class="dag" xmlns="http://www.w3.org/2000/svg" width="{total_w}" '
           f'height="{total_h}" viewBox="-1 -1 {total_w} {total_h}" role="img" '
           f'aria-label="lineage of the job">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
           'fill="#555"/></marker></defs>']
    for stage, sx, width, height in boxes:
        key = stage["key"]
        stage_id, state = status.get(key, (None, None))
        if state is None:
            state = "SKIPPED" if stage.get("skipped") else "PENDING"
        fill, stroke, dash = _STAGE_STYLE[state]
        title = f"Stage {stage_id}" if stage_id is not None else (
            "Stage (skipped)" if state == "SKIPPED" else "Stage (not run yet)")
        kind = "result" if key is None else f"shuffle {key}"
        out.append(f'<g class="stage" data-stage-id="{"" if stage_id is None else stage_id}" '
                   f'data-status="{state}" data-shuffle="{"" if key is None else key}">'
                   f'<rect x="{sx}" y="0" width="{width}" height="{height}" rx="6" fill="{fill}" '
                   f'stroke="{stroke}" stroke-width="1.5"{dash}/>'
                   f'<text x="{sx + PAD}" y="17" class="stage-title">{escape(title)}'
                   f'<tspan class="muted"> \u00b7 {kind}</tspan></text></g>')
    for k1, a, k2, b in edges:
        if (k1, a) not in where or (k2, b) not in where:
            continue
        ax, ay = where[(k1, a)]
        bx, by = where[(k2, b)]
        if k1 == k2:  # narrow: from the bottom of the parent to the top of the child
            x1, y1, x2, y2 = ax + NODE_W / 2, ay + NODE_H, bx + NODE_W / 2, by
            mid = (y1 + y2) / 2
            path = f"M {x1} {y1} C {x1} {mid}, {x2} {mid}, {x2} {y2 - 1}"
            cls = "narrow"
        else:  # a shuffle: from the right of the map side to the left of the reader
            x1, y1, x2, y2 = ax + NODE_W, ay + NODE_H / 2, bx, by + NODE_H / 2
            mid = (x1 + x2) / 2
            path = f"M {x1} {y1} C {mid} {y1}, {mid} {y2}, {x2 - 1} {y2}"
            cls = "shuffle"
        out.append(f'<path class="edge {cls}" d="{path}" fill="none" stroke="#555" '
                   f'stroke-width="1.3" marker-end="url(#arrow)"/>')
    for (key, r), (nx, ny) in where.items():
        info = rdds.get(str(r), {})
        head = info.get("name") or f"{info.get('kind', 'RDD')} [{r}]"
        site = f"{info.get('op', '?')} at {info.get('site', '?')}"
        tip = f"{head}\n{site}\n{info.get('partitions', '?')} partitions"
        if info.get("storage"):
            tip += f"\ncached: {info.get('storage_level')}"
        out.append(f'<g class="rdd" data-rdd-id="{r}" data-cached="{bool(info.get("storage"))}">'
                   f'<title>{escape(tip)}</title>'
                   f'<rect x="{nx}" y="{ny}" width="{NODE_W}" height="{NODE_H}" rx="4" '
                   f'fill="#fff" stroke="#666"/>'
                   f'<text x="{nx + 8}" y="{ny + 18}" class="rdd-name">{escape(_short(head, 27))}'
                   f'</text><text x="{nx + 8}" y="{ny + 35}" class="rdd-site">'
                   f'{escape(_short(site, 30))}</text>')
        if info.get("storage"):
            out.append(f'<circle cx="{nx + NODE_W - 10}" cy="{ny + 10}" r="5" fill="#3a9d3a"/>')
        out.append("</g>")
    if graph.get("truncated"):
        out.append(f'<text x="4" y="{total_h - 4}" class="muted">(lineage cut short)</text>')
    out.append("</svg>")
    return "".join(out)
