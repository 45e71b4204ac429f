#!/usr/bin/env python3
"""A flame graph (SVG) of one thread's time, from `perf script` output.

    perf record -F 999 -g -p "$(pgrep -f 'haven serve')" -o perf.data -- sleep 10
    perf script -i perf.data | python3 Scripts/flamegraph.py --thread haven-loop --title "..." > loop.svg

Stacks are folded root first; Swift names are shortened with `swift demangle --simplified` when
the toolchain is on PATH. Each box's width is its share of the thread's samples; hover for the
count. Frames below 0.2% of the samples, and past 40 deep, are left out so the picture stays
readable.
"""
import argparse
import collections
import html
import re
import shutil
import subprocess
import sys

ROW = 16
WIDTH = 1200
MIN_SHARE = 0.002
MAX_DEPTH = 40


def samples(lines, thread):
    """Yields each sample's frames, leaf first, for samples of `thread` (every thread if None)."""
    comm, frames = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if frames and (thread is None or comm == thread):
                yield frames
            comm, frames = None, []
        elif not line.startswith(("\t", " ")):
            comm = line.split()[0]
        else:
            parts = line.strip().split(None, 1)
            symbol = parts[1] if len(parts) > 1 else parts[0]
            symbol = re.sub(r"\+0x[0-9a-f]+ ", " ", symbol)
            name, _, dso = symbol.rpartition(" (")
            dso = dso.rstrip(")").rsplit("/", 1)[-1]
            frames.append(name if name and name != "[unknown]" else f"[{dso}]")
    if frames and (thread is None or comm == thread):
        yield frames


def demangled(names):
    """Maps each Swift-mangled name to a short readable one (unchanged without the toolchain)."""
    mangled = sorted(n for n in names if n.startswith("$s"))
    if not mangled or not shutil.which("swift"):
        return {}
    result = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(mangled), capture_output=True, text=True)
    readable = result.stdout.splitlines()
    if len(readable) != len(mangled):
        return {}
    short = {}
    for original, name in zip(mangled, readable):
        name = re.sub(r"\(.*", "", name) if "(" in name else name
        short[original] = name.replace("closure #1 in ", "{closure} ")[:160]
    return short


def build_tree(stacks):
    tree = {"count": 0, "children": {}}
    for stack in stacks:
        tree["count"] += 1
        node = tree
        for frame in list(reversed(stack))[:MAX_DEPTH]:
            node = node["children"].setdefault(frame, {"count": 0, "children": {}})
            node["count"] += 1
    return tree


def colour(name):
    hue = 10 + (hash(name) % 40)
    return f"hsl({hue},85%,{60 + hash(name) % 15}%)"


def render(tree, title, names):
    total = tree["count"]
    boxes = []

    def walk(node, x, depth):
        for name, child in sorted(node["children"].items(), key=lambda item: -item[1]["count"]):
            if child["count"] / total < MIN_SHARE:
                continue
            width = child["count"] / total * WIDTH
            boxes.append((x, depth, width, names.get(name, name), child["count"]))
            walk(child, x, depth + 1)
            x += width

    walk(tree, 0, 0)
    depth = max((box[1] for box in boxes), default=0) + 1
    height = (depth + 2) * ROW
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="monospace" font-size="11">',
           f'<text x="4" y="12">{html.escape(title)} ({total} samples)</text>']
    for x, level, width, name, count in boxes:
        y = height - (level + 1) * ROW
        label = html.escape(name)
        share = count / total * 100
        out.append(f'<g><title>{label}: {count} samples, {share:.1f}%</title>'
                   f'<rect x="{x:.1f}" y="{y}" width="{max(width - 0.5, 0.5):.1f}" height="{ROW - 1}" fill="{colour(name)}"/>')
        if width > 40:
            fits = int(width / 6.6)
            text = name if len(name) <= fits else name[: max(fits - 2, 1)] + ".."
            out.append(f'<text x="{x + 2:.1f}" y="{y + 11}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--thread", help="only this thread's samples (its kernel name, e.g. haven-loop)")
    parser.add_argument("--title", default="Haven server")
    arguments = parser.parse_args()
    stacks = list(samples(sys.stdin, arguments.thread))
    if not stacks:
        sys.exit(f"no samples{' for thread ' + arguments.thread if arguments.thread else ''} in the input")
    names = demangled({frame for stack in stacks for frame in stack})
    print(render(build_tree(stacks), arguments.title, names))


if __name__ == "__main__":
    main()
