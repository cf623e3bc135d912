#!/usr/bin/env python3
"""Reduces a scripts/load.sh log to the issue-6 figures.

Every ratio is taken within one run (the same `run=` label: the same
round of fresh servers, minutes apart), then the median and min-max of
those per-run ratios are printed. Optionally writes an SVG of
deliveries/s against participants.

    scripts/load_summary.py LOG [SVG]
"""
import collections
import math
import sys


def parse(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        f = line.split()
        if not f or f[0] != "RESULT":
            continue
        row = {}
        for kv in f[1:]:
            if "=" in kv:
                k, v = kv.split("=", 1)
                row[k] = v
        rows.append(row)
    return rows


def num(row, key):
    try:
        v = float(row[key])
    except (KeyError, ValueError):
        return None
    return None if math.isnan(v) else v


def med(v):
    v = sorted(v)
    n = len(v)
    if n == 0:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def fmt(values, digits=2):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    return (f"{med(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f}, "
            f"n={len(values)})")


def main():
    rows = parse(sys.argv[1])
    svg = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    by = {}
    for r in rows:
        if "error" in r:
            print(f"! failed: {r.get('target')} {r.get('scenario')} run {r.get('run')}: "
                  f"error={r['error']}")
            continue
        by[(r["target"], r["scenario"], r["run"])] = r
    runs = sorted({k[2] for k in by}, key=lambda s: int(s) if s.isdigit() else s)
    targets = ["prosody-ideal", "prosody-mixgate", "ejabberd-ideal", "ejabberd-mixgate",
               "ejabberd-modmix"]
    scenarios = ["fanout50", "latency50", "fanout200", "history20"]

    print("== per target: median (min-max, runs)")
    for s in scenarios:
        for t in targets:
            rs = [by[(t, s, r)] for r in runs if (t, s, r) in by]
            if not rs:
                continue
            sat = collections.Counter(r.get("saturated", "") or "-" for r in rs)
            print(f"{s:<10} {t:<17} deliveries/s {fmt([num(r, 'deliveries_per_s') for r in rs], 0)}"
                  f"  msgs/s {fmt([num(r, 'msgs_per_s') for r in rs], 1)}")
            print(f"{'':<28} p50 {fmt([num(r, 'p50_ms') for r in rs])} ms"
                  f"  p99 {fmt([num(r, 'p99_ms') for r in rs])} ms"
                  f"  join p99 {fmt([num(r, 'join_p99_ms') for r in rs])} ms")
            print(f"{'':<28} cpu server {fmt([num(r, 'cpu_server') for r in rs])}"
                  f"  component {fmt([num(r, 'cpu_component') for r in rs])}"
                  f"  load tool {fmt([num(r, 'cpu_load') for r in rs])}"
                  f"  others {fmt([num(r, 'cpu_other') for r in rs])}"
                  f"  saturated {dict(sat)}")
            if s == "history20":
                print(f"{'':<28} last10/first10 {fmt([num(r, 'last_over_first') for r in rs], 3)}"
                      f"  first10 {fmt([num(r, 'first10_msgs_per_s') for r in rs], 1)} msgs/s"
                      f"  last10 {fmt([num(r, 'last10_msgs_per_s') for r in rs], 1)} msgs/s"
                      f"  messages {rs[0].get('messages')}")

    def ratios(a, b, s, key):
        out = []
        for r in runs:
            x, y = by.get((a, s, r)), by.get((b, s, r))
            if x and y and num(x, key) and num(y, key):
                out.append(num(x, key) / num(y, key))
        return out

    print("\n== same-run ratios: median (min-max, runs)")
    print("goal 2 (>= 0.90): mixgate / ideal component, deliveries/s")
    for server in ["prosody", "ejabberd"]:
        for s in ["fanout50", "fanout200"]:
            print(f"  {server:<9} {s:<10} "
                  f"{fmt(ratios(server + '-mixgate', server + '-ideal', s, 'deliveries_per_s'))}")
    print("goal 3 (>= 3.5 at 50, >= 1.5 at 200): mixgate / mod_mix on ejabberd, deliveries/s")
    for s in ["fanout50", "fanout200"]:
        print(f"  {s:<10} {fmt(ratios('ejabberd-mixgate', 'ejabberd-modmix', s, 'deliveries_per_s'))}")
    print("  the ceiling for any component: ideal component / mod_mix, same runs")
    for s in ["fanout50", "fanout200"]:
        print(f"  {s:<10} {fmt(ratios('ejabberd-ideal', 'ejabberd-modmix', s, 'deliveries_per_s'))}")
    print("goal 3 latency at a fixed offered rate (latency50: 20 msgs/s, 50 participants):"
          " mixgate / mod_mix")
    for key in ["p50_ms", "p99_ms"]:
        print(f"  {key:<7} {fmt(ratios('ejabberd-mixgate', 'ejabberd-modmix', 'latency50', key))}")
    print("  latency50, mixgate / ideal component on the same server")
    for server in ["prosody", "ejabberd"]:
        for key in ["p50_ms", "p99_ms"]:
            print(f"  {server:<9} {key:<7} "
                  f"{fmt(ratios(server + '-mixgate', server + '-ideal', 'latency50', key))}")
    print("goal 3 flat rate (>= 0.90): last 10 % / first 10 % of the history20 run")
    for t in ["prosody-mixgate", "ejabberd-mixgate", "ejabberd-modmix"]:
        rs = [by[(t, "history20", r)] for r in runs if (t, "history20", r) in by]
        print(f"  {t:<17} {fmt([num(r, 'last_over_first') for r in rs], 3)}")
    print("goal 5: join p99 at 50 joins/s (fanout200: 200 joins), and its ratio to the ideal"
          " component's on the same server")
    for t, base in [("prosody-mixgate", "prosody-ideal"), ("ejabberd-mixgate", "ejabberd-ideal"),
                    ("ejabberd-modmix", "ejabberd-ideal")]:
        rs = [by[(t, "fanout200", r)] for r in runs if (t, "fanout200", r) in by]
        print(f"  {t:<17} p99 {fmt([num(r, 'join_p99_ms') for r in rs])} ms"
              f"  ratio {fmt(ratios(t, base, 'fanout200', 'join_p99_ms'))}")

    if svg:
        write_svg(svg, by, runs)
        print(f"\nplot: {svg}")


def write_svg(path, by, runs):
    series = [("prosody-ideal", "#999999", "4 3"), ("prosody-mixgate", "#1f77b4", ""),
              ("ejabberd-ideal", "#555555", "4 3"), ("ejabberd-mixgate", "#2ca02c", ""),
              ("ejabberd-modmix", "#d62728", "")]
    points = {}
    for t, _, _ in series:
        for p, s in [(50, "fanout50"), (200, "fanout200")]:
            v = [num(by[(t, s, r)], "deliveries_per_s") for r in runs if (t, s, r) in by]
            v = [x for x in v if x is not None]
            if v:
                points.setdefault(t, []).append((p, med(v), min(v), max(v)))
    top = max([q[3] for ps in points.values() for q in ps] + [1])
    top = math.ceil(top / 5000) * 5000
    w, h, left, bottom = 560, 360, 70, 40

    def x(p):
        return left + (p - 25) / (225 - 25) * (w - left - 150)

    def y(v):
        return h - bottom - v / top * (h - bottom - 20)

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' "
           f"font-family='sans-serif' font-size='12'>",
           f"<rect width='{w}' height='{h}' fill='white'/>",
           f"<text x='{left}' y='14'>deliveries/s vs participants (one channel, window 5; "
           f"median, bars min-max)</text>"]
    for k in range(0, 6):
        v = top * k / 5
        out.append(f"<line x1='{left}' x2='{w - 150}' y1='{y(v):.1f}' y2='{y(v):.1f}' "
                   f"stroke='#eeeeee'/><text x='{left - 8}' y='{y(v) + 4:.1f}' "
                   f"text-anchor='end'>{v / 1000:.0f}k</text>")
    for p in (50, 200):
        out.append(f"<text x='{x(p):.1f}' y='{h - bottom + 16}' text-anchor='middle'>{p}</text>")
    for i, (t, colour, dash) in enumerate(series):
        ps = points.get(t)
        if not ps:
            continue
        path_d = " ".join(f"{'M' if j == 0 else 'L'}{x(p):.1f},{y(m):.1f}"
                          for j, (p, m, _, _) in enumerate(ps))
        out.append(f"<path d='{path_d}' fill='none' stroke='{colour}' stroke-width='2' "
                   f"stroke-dasharray='{dash}'/>")
        for p, m, lo, hi in ps:
            out.append(f"<line x1='{x(p):.1f}' x2='{x(p):.1f}' y1='{y(lo):.1f}' y2='{y(hi):.1f}' "
                       f"stroke='{colour}'/><circle cx='{x(p):.1f}' cy='{y(m):.1f}' r='3' "
                       f"fill='{colour}'/>")
        out.append(f"<text x='{w - 140}' y='{40 + 18 * i}' fill='{colour}'>{t}</text>")
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
