"""The reward server (`rewardsmith serve`) and its client (`RemoteReward`).

`rewardsmith serve --reward SPEC` exposes any reward over HTTP: OpenRLHF's `POST /get_reward`,
`POST /score` with the CLI's JSONL rows, and `GET /health` (see `server.app`). `RemoteReward(url)` is a
Reward that scores through such a server, so several trainers can share one scoring fleet.
FastAPI, uvicorn and httpx are imported only when a server starts or a client sends
(`pip install 'rewardsmith[server]'`).
"""

from __future__ import annotations

from rewardsmith.server.client import RemoteReward

__all__ = ["RemoteReward"]
