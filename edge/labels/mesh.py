"""The label plate as a watertight mesh (manifold3d booleans), written as STL by trimesh.

Plate: a box ``plate_thickness`` thick. Each Braille dot: the cap of a sphere, base
``dot_base`` wide and ``dot_height`` tall, its top a vertex exactly ``dot_height`` above
the plate (so the dots can be found again in the STL). Raised print: the glyph outlines
extruded ``print_raise`` above the plate.
"""

from __future__ import annotations

import io

import trimesh
from manifold3d import CrossSection, FillRule, Manifold, OpType

from edge.labels.glyphs import Outline
from edge.labels.layout import PlateLayout

SPHERE_SEGMENTS = 24  # along a dot's circumference (manifold rounds to a multiple of 4)
EMBED = 0.2  # raised print starts this far inside the plate, so the union is solid


def plate_solid(layout: PlateLayout, print_lines: list[Outline]) -> Manifold:
    dims = layout.dims
    top = dims.plate_thickness
    parts = [Manifold.cube([layout.width, layout.height, top])]
    r = dims.dome_radius
    dome = Manifold.sphere(r, SPHERE_SEGMENTS)
    parts += [dome.translate([d.x, d.y, top + dims.dot_height - r]) for d in layout.dots]
    for outline in print_lines:
        if outline.contours:
            section = CrossSection([list(c) for c in outline.contours], FillRule.NonZero)
            raised = Manifold.extrude(section, dims.print_raise + EMBED)
            parts.append(raised.translate([0.0, 0.0, top - EMBED]))
    return Manifold.batch_boolean(parts, OpType.Add)


def to_trimesh(solid: Manifold) -> trimesh.Trimesh:
    mesh = solid.to_mesh()
    return trimesh.Trimesh(vertices=mesh.vert_properties[:, :3], faces=mesh.tri_verts,
                           process=True)


def stl_bytes(layout: PlateLayout, print_lines: list[Outline]) -> bytes:
    """Binary STL of the plate; raises ValueError if the result is not watertight."""
    mesh = to_trimesh(plate_solid(layout, print_lines))
    if not mesh.is_watertight:
        raise ValueError(f"label {layout.text!r}: the mesh is not watertight")
    out = io.BytesIO()
    mesh.export(out, file_type="stl")
    return out.getvalue()
