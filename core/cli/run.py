"""``run`` subcommand: runs any job spec (a spec file, or the ``spec`` inside a run's ``report.json``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.cli import progress


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("run", help="run a job spec (a JSON file, or a report.json that holds one)")
    parser.add_argument("spec", metavar="SPEC.json", help="a job spec, or a report.json with a 'spec' inside")
    parser.add_argument("--store", metavar="DIR", help="the store its inputs are in (default: the app's)")
    parser.add_argument("--out", metavar="DIR", help="write the result's files here (images, the model bundle)")
    parser.add_argument("--json", action="store_true", help="print every step record as one JSON line")
    parser.set_defaults(func=run)


def load_spec(path: str):
    """The spec in a spec file or a report; ValueError names what is wrong."""
    from core.work.specs import spec_from_json

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable JSON file ({exc})") from None
    if isinstance(document, dict) and "spec" in document and "kind" not in document:
        document = document["spec"]
    return spec_from_json(document)


def run(args) -> int:
    """Runs the spec with the one runner; JSON lines on stdout with ``--json``, progress on stderr otherwise."""
    from core.work.runner import as_json, result_files
    from core.work.runner import run as run_job
    from core.work.store import LocalStore, MissingInput, default_store

    spec = load_spec(args.spec)
    store = LocalStore(args.store) if args.store else default_store()
    last = None
    try:
        for last in run_job(spec, store):
            line = json.dumps(as_json(last))
            if args.json:
                print(line, flush=True)
            else:
                progress(line)
    except MissingInput as exc:
        progress(f"error: {exc}")
        return 2
    if args.out and last is not None:
        _write(result_files(last, spec), Path(args.out))
    return 0


def _write(files: dict[str, bytes], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
        print(f"saved {out / name}", file=sys.stderr)
