"""How long composing (and sending) email digests takes for many subscribers.

    .venv/bin/python benchmarks/digest_scale.py [--subscribers 100000] [--send 5000]
        [--history-days 7] [--json benchmarks/results/digest_scale.json]

Builds a catalogue from the bundled demo corpus (3,035 papers, 400 of them moved to the covered
days so that there is news), a community (users, votes, a daily list), and N confirmed
subscriptions with a realistic mix, then measures:

1. **compose**: ``papersift digest send --dry-run`` for every subscriber: reading subscriptions
   and their delivery history, the shared sections, saved searches, rendering, and building every
   message's bytes (tokens, headers, quoted-printable parts). Nothing is sent or written.
2. **recommendations**: the cost per subscriber whose digest carries recommendations (one
   ``recommending.recommend`` call per user and run), measured on a sample.
3. **send**: a real run over SMTP (claim, send, record, one commit each) to a local aiosmtpd
   sink in another process, for ``--send`` subscribers: the rate is bounded by SMTP round
   trips, so it is reported separately from composing.

The subscriber mix: 90% anonymous (trending and/or daily list), 10% linked to accounts with 1-2
saved searches drawn from 300 distinct queries; 85% daily, 15% weekly. Delivery history:
subscribers joined on one of the last ``--history-days`` days and received every digest since
(so cohorts share histories), except 5% whose histories are individual (missed or failed days).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from papersift.config import Settings
from papersift.mail import content
from papersift.mail.delivery import DigestRun
from papersift.mail.periods import period_of
from papersift.mail.sharding import send_digests
from papersift.service.accounts import Principal
from papersift.service.catalog import Catalog
from papersift.store.schema import (
    DailyEntry,
    DigestDelivery,
    LibraryEntry,
    Paper,
    SavedSearch,
    Subscription,
    User,
    Vote,
)

SINK = r"""
import sys, time
from aiosmtpd.controller import Controller

class Count:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Count.n += 1
        return "250 OK"

c = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
print(Count.n, flush=True)
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(catalog: Catalog, n: int, history_days: int, day: date, seed: int = 0) -> dict[str, Any]:
    from papersift.demo import load_demo

    rng = random.Random(seed)
    started = time.perf_counter()
    load_demo(catalog)
    now = datetime.combine(day, datetime.min.time())
    covered = day - timedelta(days=1)
    with catalog.store.session() as s:
        nums = list(s.scalars(select(Paper.num).order_by(Paper.num)))
        titles = list(s.scalars(select(Paper.title)))
        fresh = rng.sample(nums, 400)
        for i, num in enumerate(fresh):  # news: 400 papers published on the covered days
            s.execute(
                update(Paper)
                .where(Paper.num == num)
                .values(published=covered - timedelta(days=i % 3), modified_at=now)
            )
    catalog.sync(embed=False)  # the keyword index sorts by the new dates
    # users: 200 active voters plus 10% of the subscribers with accounts
    linked = n // 10
    with catalog.store.session() as s:
        s.execute(
            insert(User),
            [
                {
                    "username": f"u{i}",
                    "email": f"u{i}@bench.example",
                    "password_hash": None,
                    "is_admin": i == 0,
                    "created_at": now,
                }
                for i in range(200 + linked)
            ],
        )
        user_ids = list(s.scalars(select(User.id).order_by(User.id)))
        listed = rng.sample(fresh, 60)
        s.execute(
            insert(DailyEntry),
            [
                {
                    "day": covered,
                    "paper_num": p,
                    "submitter_id": user_ids[0],
                    "source": "user",
                    "created_at": now - timedelta(hours=12),
                }
                for p in listed
            ],
        )
        votes = {
            (rng.choice(user_ids[:200]), rng.choice(listed + fresh[:100])) for _ in range(3000)
        }
        s.execute(
            insert(Vote),
            [
                {
                    "user_id": u,
                    "paper_num": p,
                    "created_at": now - timedelta(hours=rng.randint(1, 20)),
                }
                for u, p in votes
            ],
        )
        words = Counter(
            w.lower() for t in titles for w in re.findall(r"[A-Za-z][a-z]{5,}", t)
        ).most_common(400)
        pool = [w for w, _ in words[100:400]]  # 300 distinct queries, not the commonest words
        searches = []
        for uid in user_ids[200:]:
            for j, q in enumerate(rng.sample(pool, rng.choice((1, 2)))):
                searches.append({"user_id": uid, "name": q, "slug": f"{q}-{j}", "query": q,
                                 "is_public": False, "created_at": now})  # fmt: skip
        s.execute(insert(SavedSearch), searches)
    # subscriptions
    content_mix = [["trending", "daily"]] * 12 + [["trending"]] * 5 + [["daily"]] * 3
    subs: list[dict[str, Any]] = []
    for i in range(n):
        is_linked = i % 10 == 0 and i // 10 < linked
        subs.append({
            "email": f"s{i}@bench.example",
            "user_id": user_ids[200 + i // 10] if is_linked else None,
            "frequency": "weekly" if rng.random() < 0.15 else "daily",
            "content": ["trending", "daily", "searches"] if is_linked else rng.choice(content_mix),
            "options": {},
            "created_at": now - timedelta(days=history_days),
            "confirmed_at": now - timedelta(days=history_days),
            "token_version": 0,
        })  # fmt: skip
    with catalog.store.session() as s:
        for start in range(0, n, 20_000):
            s.execute(insert(Subscription), subs[start : start + 20_000])
        sub_ids = list(s.scalars(select(Subscription.id).order_by(Subscription.id)))
    # history: what earlier digests carried (cohorts by join day; 5% individual)
    shared = content.shared_sections(catalog, period_of(day, "daily"), content.Links("http://x"))
    candidates = [i.id for sec in shared.values() for i in sec.items]
    with catalog.store.session() as s:
        all_ids = list(s.scalars(select(Paper.id)))
    daily_sets = [rng.sample(candidates, min(6, len(candidates))) + rng.sample(all_ids, 6)
                  for _ in range(history_days)]  # fmt: skip
    rows = []
    for sid in sub_ids:
        joined = rng.randrange(history_days + 1)  # days of history this subscriber has
        individual = rng.random() < 0.05
        for d in range(joined):
            if individual and rng.random() < 0.4:
                continue
            sent = now - timedelta(days=d + 1)
            ids = daily_sets[d] if not individual else rng.sample(candidates + all_ids[:50], 10)
            rows.append({
                "subscription_id": sid, "period": (day - timedelta(days=d + 1)).isoformat(),
                "status": "sent", "message_id": f"<h.{sid}.{d}@bench>", "attempts": 1,
                "created_at": sent, "updated_at": sent, "sent_at": sent, "paper_ids": ids,
            })  # fmt: skip
    with catalog.store.session() as s:
        for start in range(0, len(rows), 50_000):
            s.execute(insert(DigestDelivery), rows[start : start + 50_000])
    return {
        "papers": len(nums),
        "fresh_papers": len(fresh),
        "users": len(user_ids),
        "saved_searches": len(searches),
        "distinct_queries": len({r["query"] for r in searches}),
        "subscriptions": n,
        "history_rows": len(rows),
        "build_s": round(time.perf_counter() - started, 1),
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_compose(catalog: Catalog, day: date, workers: int) -> dict[str, Any]:
    """A dry run over every subscriber: everything but SMTP and the log writes."""
    now = datetime.combine(day, datetime.min.time())
    wall, cpu, child = time.perf_counter(), time.process_time(), _children_cpu()
    report = send_digests(catalog, day, now=now, dry_run=True, workers=workers)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu + _children_cpu() - child
    return {
        "workers": workers,
        "subscribers": report.due,
        "composed": report.composed,
        "empty": report.empty,
        "distinct_renders": report.renders,
        "searches_run": report.searches,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "per_second": round(report.due / wall),
    }


def measure_recommendations(catalog: Catalog, users: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    with catalog.store.session() as s:
        nums = list(s.scalars(select(Paper.num)))
        ids = list(s.scalars(select(User.id).order_by(User.id).limit(users)))
        now = datetime.now(UTC).replace(tzinfo=None)
        for uid in ids:
            s.execute(
                insert(LibraryEntry),
                [
                    {"user_id": uid, "paper_num": p, "saved_at": now, "updated_at": now}
                    for p in rng.sample(nums, 6)
                ],
            )
    sources = content.UserSources(catalog, content.Links("http://x"))
    wall = time.perf_counter()
    for uid in ids:
        sources.recommendations(Principal(uid, f"u{uid}", False), None)
    wall = time.perf_counter() - wall
    return {"users": len(ids), "wall_s": round(wall, 1), "per_user_s": round(wall / len(ids), 2)}


def measure_send(catalog: Catalog, day: date, count: int) -> dict[str, Any]:
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    catalog.settings.smtp_host, catalog.settings.smtp_port = "127.0.0.1", port
    with catalog.store.session() as s:  # the first `count` subscribers are daily, the rest weekly
        first = list(s.scalars(select(Subscription.id).order_by(Subscription.id).limit(count)))
        s.execute(update(Subscription).values(frequency="weekly"))
        s.execute(update(Subscription).where(Subscription.id.in_(first)).values(frequency="daily"))
    send_day = day  # the dry runs recorded nothing: the period is still to be sent
    run = DigestRun(catalog, now=datetime.combine(send_day, datetime.min.time()))
    wall = time.perf_counter()
    report = run.run(send_day, frequencies=("daily",))
    wall = time.perf_counter() - wall
    received = int(sink.communicate("", timeout=60)[0].strip())
    with catalog.store.session() as s:
        logged = s.scalar(
            select(func.count()).where(
                DigestDelivery.period == send_day.isoformat(), DigestDelivery.status == "sent"
            )
        )
    return {
        "subscribers": report.due,
        "sent": report.sent,
        "empty": report.empty,
        "received_by_sink": received,
        "logged_sent": logged,
        "wall_s": round(wall, 1),
        "per_second": round(report.sent / wall, 1) if wall else 0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subscribers", type=int, default=100_000)
    ap.add_argument("--send", type=int, default=5_000)
    ap.add_argument("--history-days", type=int, default=7)
    ap.add_argument("--rec-users", type=int, default=10)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="compose with each")
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    tmp = None
    data = args.data_dir
    if data is None:
        tmp = data = Path(tempfile.mkdtemp(prefix="digest-bench-"))
    day = datetime.now(UTC).date()
    catalog = Catalog(
        Settings(data_dir=data, secret_key="bench", base_url="https://papers.example")
    )
    try:
        print(f"building {args.subscribers} subscriptions in {data} ...", flush=True)
        setup = build(catalog, args.subscribers, args.history_days, day)
        print(json.dumps(setup), flush=True)
        compose = []
        for workers in args.workers:
            compose.append(measure_compose(catalog, day, workers))
            print("compose", json.dumps(compose[-1]), flush=True)
        recs = measure_recommendations(catalog, args.rec_users)
        print("recommendations", json.dumps(recs), flush=True)
        send = measure_send(catalog, day, args.send)
        print("send", json.dumps(send), flush=True)
    finally:
        catalog.close()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 1),
            "python": platform.python_version(),
        },
        "setup": setup,
        "compose": compose,
        "recommendations": recs,
        "send": send,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
