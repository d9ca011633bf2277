"""numba's compiled code is kept on disk between processes, so UMAP's one-off compilation is paid once per machine.

UMAP and pynndescent are numba code. Without a cache every new process compiles what it calls (about 40 s of a
cold themes stage on 2 cores). The theme model avoids pynndescent's nearest-neighbour search altogether (it
hands UMAP an exact neighbour graph, clustering.cosine_knn, and most of pynndescent's kernels are not cacheable:
they take other jitted functions as arguments); what is left is UMAP's fuzzy-graph and layout kernels, and
`umap_class` makes numba cache those.

Where: $NUMBA_CACHE_DIR when it is set (numba's own variable), else `~/.cache/commentminer/numba` (under
$XDG_CACHE_HOME when that is set), created on first use. The directory may be deleted at any time (the next
process compiles again); numba keys every entry by the source file of the function, the argument types and the
CPU, so upgrading umap-learn or numba just adds entries. When the directory cannot be created, numba's own
default applies (a __pycache__ next to the library, or its per-user cache).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# UMAP kernels the themes fit calls that umap-learn (0.5.x) compiles without numba's cache, by module and name;
# names missing in another umap-learn version are skipped. Functions they call are compiled into them.
UMAP_KERNELS = {
    "umap.umap_": ("smooth_knn_dist", "compute_membership_strengths"),
    "umap.layouts": ("_nb_optimize_layout_euclidean_single_epoch",
                     "_nb_optimize_layout_euclidean_single_epoch_parallel"),
}


def cache_dir() -> Path:
    """The numba cache directory the themes stage uses (see the module docstring); not created here."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "commentminer" / "numba"


def configure_cache() -> Path | None:
    """Point numba's cache at `cache_dir()` (created on demand); the directory used, or None for numba's default.

    Sets NUMBA_CACHE_DIR for this process (and its children) when the user has not; when numba is already
    imported its config is updated too, which affects functions whose cache is created from now on.
    """
    path = cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(path, os.W_OK):
        return None
    if not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = str(path)
    config = sys.modules.get("numba.core.config")
    if config is not None and not getattr(config, "CACHE_DIR", ""):
        config.CACHE_DIR = str(path)
    return path


def umap_class():
    """`umap.UMAP`, imported with numba's cache configured and UMAP's uncached kernels made cacheable."""
    configure_cache()
    import importlib

    from umap import UMAP

    for module_name, names in UMAP_KERNELS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in names:
            enable_caching(getattr(module, name, None))
    return UMAP


def enable_caching(dispatcher) -> bool:
    """Turn on numba's disk cache for a jitted function compiled without `cache=True`; True when it is on now.

    Only dispatchers with no compiled overloads yet are changed (their cache is consulted on the next compile).
    """
    from numba.core.caching import NullCache

    cache = getattr(dispatcher, "_cache", None)
    if cache is None or not hasattr(dispatcher, "enable_caching"):
        return False
    if isinstance(cache, NullCache) and not dispatcher.overloads:
        dispatcher.enable_caching()
    return not isinstance(dispatcher._cache, NullCache)
