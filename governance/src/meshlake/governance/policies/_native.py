"""The C++ runtime loaded before regopy, so that regopy's allocator stays its own.

regopy's library (librego_shared.so) defines its own ``operator new`` and ``delete``. When it is
the first library of the process to need libstdc++, libstdc++ is loaded in its group and binds its
own allocations to regopy's ``new``: strings that libstdc++ grows for other libraries (DuckDB
compiling a regular expression) are then freed by the C library, which aborts the process
("double free or corruption"). Loaded first, libstdc++ binds to its own allocator, and regopy's
``new`` serves regopy alone. Found with a core dump of an aborted test process (issue 18).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util

CPP_RUNTIME = ctypes.util.find_library("stdc++") or "libstdc++.so.6"


def load_cpp_runtime() -> None:
    """Load libstdc++ into the process (a no-op once any C++ library loaded it)."""
    with contextlib.suppress(OSError):  # a platform without it: regopy brings what it needs
        ctypes.CDLL(CPP_RUNTIME)
