"""Per-request profiles for `crm bench screens --profile`: where a page's Python time goes.

Each case is requested `runs` more times under cProfile (after the timed runs, so the timings
are not disturbed) and the functions with the largest cumulative time are printed: the share
of the request spent in templates, SQLAlchemy, the scope hook, and so on.
"""

import cProfile
import io
import pstats


def profile_requests(get, runs: int = 5, top: int = 40, sort: str = "cumulative") -> str:
    """Run `get()` `runs` times under cProfile; the `top` functions by `sort`, as text, with
    the per-request time (the totals divided by `runs`)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        get()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats(sort)
    total = stats.total_tt
    out.write(
        f"    {runs} requests profiled, {total * 1000 / runs:.1f} ms a request under "
        f"the profiler; top {top} by {sort} time (cumulative ms a request, share):\n"
    )
    width = 70
    for func, (_cc, nc, _tt, ct, _callers) in _ordered(stats, sort)[:top]:
        name = f"{func[0]}:{func[1]}({func[2]})"
        out.write(
            f"    {ct * 1000 / runs:8.2f} ms {100 * ct / total:5.1f}%  "
            f"{nc // runs:6d} calls  {name[:width]}\n"
        )
    return out.getvalue()


def _ordered(stats: pstats.Stats, sort: str):
    key = {"cumulative": 3, "tottime": 2}.get(sort, 3)
    return sorted(stats.stats.items(), key=lambda kv: kv[1][key], reverse=True)
