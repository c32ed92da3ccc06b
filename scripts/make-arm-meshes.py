#!/usr/bin/env python3
"""Writes the two-link arm's meshes: assets/two-link-arm/assets/{base,link}.stl.

Pure Python, no dependencies; the output is deterministic, so running it again gives the
same bytes (the committed files are its output). Binary STL, metres.

  base.stl  a hexagonal pedestal: a prism of circumradius 30 mm from z = 0 to 16 mm, under a
            smaller prism of 20 mm from 16 to 20 mm (a step that reads as a motor housing)
  link.stl  a link: a stadium (two half discs of radius 12 mm, centres at x = 0 and
            x = 100 mm) extruded 8 mm thick about z = 0, so the joint axes are at its two
            rounded ends and the model can put the next joint at x = 0.1

Both are convex (or a stack of convex prisms), so MuJoCo's mesh inertia is exact.

Usage: scripts/make-arm-meshes.py [OUT_DIR]   (default: assets/two-link-arm/assets)
"""

import math
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "assets", "two-link-arm", "assets")


def prism(outline, z0, z1):
    """Triangles of a closed prism over a convex, counter-clockwise outline [(x, y)]."""
    n = len(outline)
    tris = []
    bottom = [(x, y, z0) for x, y in outline]
    top = [(x, y, z1) for x, y in outline]
    # Caps as fans from the first vertex: the top faces +z (counter-clockwise seen from above),
    # the bottom faces -z (reversed).
    for i in range(1, n - 1):
        tris.append((top[0], top[i], top[i + 1]))
        tris.append((bottom[0], bottom[i + 1], bottom[i]))
    # Sides, two triangles per edge, facing outwards.
    for i in range(n):
        j = (i + 1) % n
        tris.append((bottom[i], bottom[j], top[j]))
        tris.append((bottom[i], top[j], top[i]))
    return tris


def polygon(radius, sides, phase=0.0):
    return [
        (radius * math.cos(phase + 2 * math.pi * k / sides),
         radius * math.sin(phase + 2 * math.pi * k / sides))
        for k in range(sides)
    ]


def stadium(length, radius, segments):
    """A counter-clockwise stadium outline: half discs about (0, 0) and (length, 0)."""
    pts = []
    # Right end, from -90 deg to +90 deg about (length, 0).
    for k in range(segments + 1):
        a = -math.pi / 2 + math.pi * k / segments
        pts.append((length + radius * math.cos(a), radius * math.sin(a)))
    # Left end, from +90 deg to 270 deg about (0, 0).
    for k in range(segments + 1):
        a = math.pi / 2 + math.pi * k / segments
        pts.append((radius * math.cos(a), radius * math.sin(a)))
    return pts


def normal(a, b, c):
    u = [b[i] - a[i] for i in range(3)]
    v = [c[i] - a[i] for i in range(3)]
    n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
    length = math.sqrt(sum(x * x for x in n)) or 1.0
    return [x / length for x in n]


def write_stl(path, name, tris):
    header = f"rewardgen two-link arm: {name}".encode("ascii").ljust(80, b" ")
    with open(path, "wb") as f:
        f.write(header)
        f.write(struct.pack("<I", len(tris)))
        for a, b, c in tris:
            f.write(struct.pack("<3f", *normal(a, b, c)))
            for p in (a, b, c):
                f.write(struct.pack("<3f", *p))
            f.write(struct.pack("<H", 0))
    print(f"{os.path.relpath(path)}: {len(tris)} triangles, {os.path.getsize(path)} bytes")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    os.makedirs(out, exist_ok=True)
    base = prism(polygon(0.030, 6, math.pi / 6), 0.0, 0.016)
    base += prism(polygon(0.020, 6, math.pi / 6), 0.016, 0.020)
    write_stl(os.path.join(out, "base.stl"), "base", base)
    link = prism(stadium(0.100, 0.012, 10), -0.004, 0.004)
    write_stl(os.path.join(out, "link.stl"), "link", link)


if __name__ == "__main__":
    main()
