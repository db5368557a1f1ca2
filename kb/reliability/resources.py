"""Time and peak memory of a load of one large one-line file, in a fresh process each time.

The file is the bundled policy on one line (every line break a space), repeated to the size
asked for. It is loaded once under the default size limit and once with the limit lifted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kb.surfaces.api import bundled_policy_paths

CHILD = """
import json, resource, sys, time
from pathlib import Path
from kb.surfaces.api import KnowledgeBase
from kb.errors import KBError
from loaders.source import ReadOptions

def peak():
    # this process's own high-water mark (ru_maxrss would carry the parent's across fork and exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

before = peak()
start = time.perf_counter()
try:
    options = ReadOptions(int(sys.argv[3])) if sys.argv[3] != "default" else ReadOptions()
    KnowledgeBase(Path(sys.argv[1])).load([Path(sys.argv[2])], workers=1, options=options)
    outcome = "loaded"
except KBError as error:
    outcome = "refused: " + str(error)
after = peak()
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - start, "peak": after / 1024, "before": before / 1024}))
"""


@dataclass(frozen=True)
class Measure:
    limit: str
    outcome: str
    seconds: float
    peak_mb: float
    before_mb: float


def one_line_file(path: Path, megabytes: float) -> Path:
    line = bundled_policy_paths()[0].read_text(encoding="utf-8").replace("\n", " ").encode("utf-8")
    size = int(megabytes * 1_000_000)
    path.write_bytes((line * (size // len(line) + 1))[:size].decode("utf-8", errors="ignore").encode("utf-8"))
    return path


def measure(scratch: Path, megabytes: float) -> list[Measure]:
    """The load of a ``megabytes`` one-line file under the default limit and with the limit lifted."""
    document = one_line_file(scratch / "one-line.txt", megabytes)
    measures = []
    for limit in ("default", str(document.stat().st_size + 1)):
        database = scratch / f"kb-{limit}.sqlite"
        run = subprocess.run(
            [sys.executable, "-c", CHILD, str(database), str(document), limit], capture_output=True, text=True
        )
        if run.returncode != 0:
            raise RuntimeError(f"the measuring process failed: {run.stderr[-500:]}")
        data = json.loads(run.stdout.strip().splitlines()[-1])
        label = "default limit" if limit == "default" else "limit lifted"
        outcome = data["outcome"].replace(f"{document}: ", "")
        measures.append(Measure(label, outcome, data["seconds"], data["peak"], data["before"]))
    return measures
