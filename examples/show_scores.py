"""Print a scored JSONL file as a table (used by the scoring demo)."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def main(path: str) -> None:
    table = Table(title=f"rewardsmith scores — {path}")
    for column in ("id", "score", "status", "reason"):
        table.add_column(column, overflow="fold")
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            score = "unscored" if row["score"] is None else f"{row['score']:.3f}"
            table.add_row(escape(str(row.get("id", ""))), score, escape(row["status"]), escape(row["reason"]))
    Console().print(table)


if __name__ == "__main__":
    main(sys.argv[1])
