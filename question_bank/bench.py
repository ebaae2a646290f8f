"""Parse-speed benchmark: `python -m question_bank.bench [--items N] [--runs R]`.

Writes an N-item GIFT bank and an N-item Moodle XML bank (a mix of choice, multiple-response,
true/false, short-answer, numerical and matching items, 20 categories) to a temporary folder,
times `inspect_paths` on each R times, and prints the median run and items per second. The
timing includes everything a real `bank inspect` does: reading, detection, parsing, checks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from question_bank.export import to_moodle_xml
from question_bank.gift import parse as parse_gift
from question_bank.inspect import inspect_paths


def gift_bank(items: int) -> str:
    blocks = []
    for n in range(items):
        if n % 250 == 0:
            blocks.append(f"$CATEGORY: $course$/top/Bench/Topic {n // 250}")
        kind = n % 6
        name = f"::Q{n}::"
        if kind == 0:
            body = f"What is {n} + 1?{{={n + 1} ~{n + 2} ~{n + 3} ~{n}}}"
        elif kind == 1:
            answers = f"~%50%{2 * n} ~%50%{2 * n + 2} ~%-100%{2 * n + 1}"
            body = f"Pick the even numbers near {n}.{{{answers}}}"
        elif kind == 2:
            body = f"{n} is an even number.{{{'T' if n % 2 == 0 else 'F'}}}"
        elif kind == 3:
            body = f"Spell the number {n} in digits.{{={n} =%50%{n}.0}}"
        elif kind == 4:
            body = f"Give {n} divided by 4.{{#{n / 4}:0.01}}"
        else:
            body = f"Match item {n}.{{=a{n} -> x{n} =b{n} -> y{n} =c{n} -> z{n}}}"
        blocks.append(f"// generated item {n}\n{name}[html]<p>{body}")
    return "\n\n".join(blocks) + "\n"


def _median_run(path: Path, runs: int) -> tuple[float, int]:
    timings = []
    count = 0
    for _run in range(runs):
        started = time.perf_counter()
        reports = inspect_paths([path])
        timings.append(time.perf_counter() - started)
        count = len(reports[0].questions)
    return statistics.median(timings), count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="emtihan-bench-") as folder:
        gift_path = Path(folder) / "bank.gift"
        gift_path.write_text(gift_bank(args.items), encoding="utf-8")
        questions = parse_gift(gift_path.read_text(encoding="utf-8")).questions
        xml_path = Path(folder) / "bank.xml"
        xml_path.write_text(to_moodle_xml(questions), encoding="utf-8")
        for label, path in (("GIFT", gift_path), ("Moodle XML", xml_path)):
            median, count = _median_run(path, args.runs)
            size = path.stat().st_size / 1024 / 1024
            print(
                f"{label:<11} {count} items, {size:.1f} MB: p50 of {args.runs} runs "
                f"{median * 1000:.0f} ms = {count / median:,.0f} items/s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
