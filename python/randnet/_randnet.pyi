"""Type stubs of the native module (crates/python/src/lib.rs). The public API is randnet's
__init__.py; these functions take the CLI's arguments as an argv list."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

def sample(
    argv: List[str],
    x: Optional[npt.NDArray[np.float64]] = None,
    samples: bool = False,
    progress: Optional[Callable[[int, int], None]] = None,
) -> Dict[str, Any]:
    """`randnet sample`: keys json, csv, spec, names, rows (flat float64, one row per network
    led by its index's bits, or None), networks, diverged, complete, message, seconds."""

def sweep(
    argv: List[str], progress: Optional[Callable[[int, int], None]] = None
) -> Tuple[str, str]:
    """`randnet sweep`: (JSON, tidy CSV)."""

def theory(argv: List[str], x: Optional[npt.NDArray[np.float64]] = None) -> Tuple[str, str]:
    """`randnet theory`: (JSON, CSV)."""

def merge(files: Sequence[str]) -> Tuple[str, str, bool]:
    """`randnet merge`: (JSON, CSV, whether the shards are of a sweep)."""

def flags(command: str) -> List[str]:
    """The long flags of `sample`, `sweep` or `theory`, with underscores."""
