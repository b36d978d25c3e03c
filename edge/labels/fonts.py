"""Where the raised print's font is (kept apart so ``brexit`` starts without fontTools)."""

from __future__ import annotations

from pathlib import Path

# DejaVu Sans Bold, Debian's fonts-dejavu-core (setup.sh installs it)
DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
