"""The pinned native stack loads in any import order.

usearch 2.26 with numkong 7.8 segfaults at import when it comes before onnxruntime (DESIGN.md);
papersift imports onnxruntime first wherever it imports usearch, and pins usearch 2.25.3, which
loads either way. A user's script or a plugin may import them in any order, so each order runs
here in a fresh interpreter: a crash there would otherwise kill whatever imported them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

ORDERS = [
    "import usearch.index; import onnxruntime",
    "import onnxruntime; import usearch.index",
    "import tantivy, usearch.index, tokenizers, onnxruntime",
    "import papersift.index.vector, papersift.cli",
]


@pytest.mark.parametrize("imports", ORDERS)
def test_the_native_stack_imports_in_any_order(imports: str) -> None:
    code = (
        f"{imports}\n"
        "import numpy as np\n"
        "from usearch.index import Index\n"
        "i = Index(ndim=8, dtype='i8', metric='cos')\n"
        "i.add(np.arange(50), np.random.default_rng(0).random((50, 8), dtype=np.float32))\n"
        "print(int(i.search(np.ones(8, dtype=np.float32), 3).keys[0]) >= 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"
