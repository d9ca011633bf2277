"""benchmarks/report.py: a smoke run at a tiny N (synthetic store, timed write_report, the printed table)."""

from __future__ import annotations

from commentminer.store.vectors import stack

from fixtures.benchmarks import load_benchmark


def _load():
    return load_benchmark("report")


def test_report_benchmark_smoke(capsys):
    bench = _load()
    assert bench.main(["--sizes", "60", "--baseline", "30", "--no-browser"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| comments | report s | vs base | report.html MB")
    assert lines[1].startswith("| 30 | ") and "| 1.0× |" in lines[1]
    assert lines[2].startswith("| 60 | ")


def test_synthetic_store_has_what_the_report_reads(store):
    bench = _load()
    bench.build_store(store, 100)
    counts = store.counts()
    assert counts["comments"] == 100 and counts["units"] == 200 + 4 * 2 and counts["embeddings"] == counts["units"]
    vec = stack(store.query("SELECT vector FROM embeddings LIMIT 1")["vector"])[0]  # float16 BLOB (issue 12)
    assert len(vec) == 384 and abs(float(vec @ vec) - 1) < 1e-3
    assert store.query("SELECT count(DISTINCT region) AS n FROM regions")["n"][0] >= 10


def test_page_height_column_is_measured_when_chromium_is_there(capsys):
    from fixtures.browser import require_browser

    require_browser()
    bench = _load()
    assert bench.main(["--sizes", "40", "--baseline", "20"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert rows[0].rstrip().endswith("| page px collapsed |")
    heights = [row.split("|")[-2].strip() for row in rows[2:]]
    assert all(h.replace(",", "").isdigit() and int(h.replace(",", "")) > 1000 for h in heights), heights
