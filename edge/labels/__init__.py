"""``brexit labels``: Braille button labels (STL, SVG, BRF) for a node (see docs/labels.md)."""
