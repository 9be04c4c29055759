"""``worker`` subcommand: one RQ worker of the lab's Redis queue (one per GPU), see ``core.work.worker``."""

from __future__ import annotations

from core.cli import progress


def register(subparsers) -> None:
    """Adds the subcommand."""
    parser = subparsers.add_parser("worker", help="run jobs from the lab's Redis queue ($TRANSFER_LAB_REDIS_URL)")
    parser.add_argument("--name", help="the worker's name in Redis (default: RQ's own)")
    parser.add_argument("--gpu", type=int, metavar="N", help="use only GPU N (sets CUDA_VISIBLE_DEVICES)")
    parser.add_argument("--burst", action="store_true", help="quit when the queue is empty")
    parser.set_defaults(func=run_worker)


def run_worker(args) -> int:
    """Works until SIGTERM (which ends it after the current job's step)."""
    from core.cluster import redis_url
    from core.work.worker import work

    if redis_url() is None:
        progress("error: TRANSFER_LAB_REDIS_URL is not set: a worker needs the lab's Redis (redis://host:port/0)")
        return 2
    work(name=args.name, gpu=args.gpu, burst=args.burst)
    return 0
