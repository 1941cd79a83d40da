"""Optional dependencies (Hugging Face `datasets`, mpi4py): imported only when a feature needs them, and
when one is missing the ImportError says which extra to install, not just the module's name."""
import importlib


def import_optional(*names, why):
    """The modules `names`, imported in order; the first that fails raises ImportError("{why} ({its error})")
    without the traceback chain (the message is the whole story)."""
    try:
        return [importlib.import_module(name) for name in names]
    except ImportError as e:
        raise ImportError(f"{why} ({e})") from None
