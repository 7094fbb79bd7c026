"""The `rewardsmith serve` subcommand: arguments and handler (the main CLI only registers it).

uvicorn runs the app; on SIGINT or SIGTERM it stops accepting connections, lets the requests being
scored finish (up to `--graceful-timeout` seconds), then the app closes its backend.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from rewardsmith.cli import _positive_float, _positive_int
from rewardsmith.trainer_adapter.common import ENV_VAR


def add_serve_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "serve",
        help="serve a reward over HTTP (OpenRLHF's /get_reward, /score rows, /health)",
        description=(
            "Serve a reward SPEC over HTTP: POST /get_reward (OpenRLHF's batch schema), POST /score (JSONL rows "
            "as `rewardsmith score` reads and writes them), GET /health. Concurrent requests are scored in "
            f"shared batches. The SPEC defaults to ${ENV_VAR}."
        ),
    )
    p.add_argument("--reward", metavar="SPEC", help=f"preset, preset:key=value,…, or module:attr (default: ${ENV_VAR})")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--backend", choices=["local", "ray"], default="local", help="where leaf rewards run")
    p.add_argument("--ray-address", metavar="ADDR", help="Ray cluster to join with --backend ray (else RAY_ADDRESS)")
    p.add_argument("--workers", type=_positive_int, metavar="N", help="worker processes for CPU-bound rewards")
    p.add_argument("--timeout", type=_positive_float, metavar="S", help="hard per-sample time limit in seconds")
    p.add_argument("--name", help="the reward's name in /get_reward's extra_logs keys (default: its own)")
    p.add_argument(
        "--unscored-value",
        type=float,
        default=0.0,
        metavar="X",
        help="the number /get_reward gives an unscored sample (OpenRLHF takes numbers only; default 0.0)",
    )
    p.add_argument("--max-body-mb", type=float, default=16.0, metavar="MB", help="largest request body")
    p.add_argument(
        "--max-pending", type=_positive_int, default=1024, metavar="N", help="requests admitted at once (then 503)"
    )
    p.add_argument("--max-batch", type=_positive_int, default=512, metavar="N", help="samples per engine batch")
    p.add_argument("--max-batches", type=_positive_int, default=2, metavar="N", help="engine batches scored at once")
    p.add_argument(
        "--graceful-timeout",
        type=_positive_float,
        default=30.0,
        metavar="S",
        help="time to finish requests at shutdown",
    )
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return p


def build_service(args: argparse.Namespace) -> Any:
    """The RewardService the arguments describe (the reward is built here, before the port opens)."""
    from rewardsmith.core.errors import UsageError
    from rewardsmith.core.spec import load
    from rewardsmith.server.app import RewardService
    from rewardsmith.trainer_adapter.common import resolve_spec

    reward = load(resolve_spec(args.reward, who="rewardsmith serve --reward"))
    backend = None
    if args.backend == "ray":
        from rewardsmith.core.ray_backend import RayBackend

        backend = RayBackend(address=args.ray_address).start()
    elif args.ray_address:
        raise UsageError("--ray-address is for --backend ray")
    if not args.max_body_mb > 0:
        raise UsageError(f"--max-body-mb must be a positive number of megabytes, got {args.max_body_mb}")
    options = {"workers": args.workers, "timeout": args.timeout}
    return RewardService(
        reward,
        backend=backend,
        options={k: v for k, v in options.items() if v is not None},
        name=args.name,
        unscored_value=args.unscored_value,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
        max_batch=args.max_batch,
        max_batches=args.max_batches,
        max_pending=args.max_pending,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        from rewardsmith.core.errors import UsageError

        raise UsageError("rewardsmith serve needs FastAPI and uvicorn: pip install 'rewardsmith[server]'") from None
    from rewardsmith.server.app import create_app

    service = build_service(args)
    app = create_app(service)
    print(
        f"rewardsmith serve: {service.reward.name!r} on http://{args.host}:{args.port} "
        f"(POST /get_reward, POST /score, GET /health; backend {args.backend}; pid {os.getpid()})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=int(args.graceful_timeout),
        access_log=args.log_level == "debug",
    )
    return 0
