"""benchmarks/e2e.py: its parsing, table and process-measuring functions on fake inputs (no model, no data).

A real `--limit 30 --rounds 1` run takes over a minute (two cold processes, BERTopic's numba compilation in the
peer), so it is not run here; run the script itself for that.
"""

from __future__ import annotations

import json
import sys

import pytest

from fixtures.benchmarks import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("e2e")


def _result(wall, cpu, rss, stages, topics=10, share=0.4, units=100, tree=None):
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss, "tree_rss_mb": tree if tree is not None else rss,
            "units": units, "topics": topics, "outlier_share": share,
            "stages": {name: {"wall_s": w, "cpu_s": c} for name, (w, c) in stages.items()}}


def _rounds(bench):
    peer = [_result(228, 400, 1900, {"import": (6, 6), "embed": (167, 330)}, topics=574, share=0.43),
            _result(232, 410, 1950, {"import": (7, 7), "embed": (170, 335)}, topics=570, share=0.44),
            _result(240, 420, 1900, {"import": (6, 6), "embed": (175, 340)}, topics=580, share=0.42)]
    cm = [_result(114, 220, 1500, {"segment": (5, 9), "embed": (80, 158)}, topics=40, share=0.1),
          _result(116, 221, 1600, {"segment": (6, 9), "embed": (82, 159)}, topics=40, share=0.1),
          _result(120, 225, 1900, {"segment": (5, 9), "embed": (85, 160)}, topics=41, share=0.12, tree=2500)]
    return [{bench.PEER: p, bench.CM: c} for p, c in zip(peer, cm)]


def test_table_has_each_round_the_medians_and_the_median_ratios(bench):
    table = bench.build_table(_rounds(bench))
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| round | pipeline | wall s | CPU s | CPU/wall | peak RSS MB |")
    assert [r.split(" | ")[:2] for r in rows[1:]] == [
        ["| 1", "peer"], ["| 1", "commentminer"], ["| 2", "peer"], ["| 2", "commentminer"], ["| 3", "peer"],
        ["| 3", "commentminer"], ["| median", "peer"], ["| median", "commentminer"]]
    median_peer, median_cm = rows[-2], rows[-1]
    assert "| 232.0 | 410.0 | 1.77 | 1,900 | 1,900 | 100 | 574 | 43% |" in median_peer
    assert "import 6.0/6.0 · embed 170.0/335.0" in median_peer
    assert "| 116.0 | 221.0 |" in median_cm and "segment 5.0/9.0 · embed 82.0/159.0" in median_cm
    # ratios are the median of each round's ratio: wall 228/114, 232/116, 240/120 -> 2.00; RSS 1.27, 1.22, 1.00
    assert "wall 2.00×" in table and "peak RSS 1.22×" in table and "tree RSS 1.22×" in table


def test_a_failed_peer_fit_shows_as_no_topics(bench):
    rounds = _rounds(bench)[:1]
    rounds[0][bench.PEER].update(topics=None, outlier_share=None, error="ValueError: k >= N")
    table = bench.build_table(rounds)
    assert "| – | – |" in table.splitlines()[2] and "round 1: ValueError: k >= N" in table


def test_peer_output_is_the_marked_last_line(bench):
    result = {"stages": {"embed": {"wall_s": 1.0, "cpu_s": 2.0}}, "units": 3, "topics": 1, "outlier_share": 0.0}
    stdout = f"Batches: 100%\n{bench.RESULT_MARK}{json.dumps(result)}\n"
    assert bench.parse_peer_output(stdout) == result
    with pytest.raises(ValueError, match="no result line"):
        bench.parse_peer_output("Traceback ...\n")


def test_commentminer_summary_reads_stats_json(bench):
    stats = {"themes": {"units": 48957, "themes": 40, "outlier_share": 0.12},
             "embed": {"embedded": 48957},
             "timings": [{"stage": "segment", "wall_s": 5.0, "cpu_s": 9.5, "peak_rss_mb": 700.0},
                         {"stage": "embed", "wall_s": 80.0, "cpu_s": 158.0, "peak_rss_mb": 1500.0},
                         {"stage": "total", "wall_s": 90.0, "cpu_s": 175.0, "peak_rss_mb": 1500.0}]}
    summary = bench.commentminer_summary(stats)
    assert summary["stages"] == {"segment": {"wall_s": 5.0, "cpu_s": 9.5}, "embed": {"wall_s": 80.0, "cpu_s": 158.0}}
    assert (summary["units"], summary["topics"], summary["outlier_share"]) == (48957, 40, 0.12)
    assert summary["total"]["wall_s"] == 90.0


def test_limited_csv_keeps_the_first_comments_with_text(bench, tmp_path):
    source = tmp_path / "c.csv"
    source.write_text('article_id,comment_text\n1,"first, with a comma\nand a newline"\n2,\n3,second\n4,third\n',
                      encoding="utf-8")
    path, kept = bench.limited_csv(source, 2, tmp_path)
    assert kept == 2
    assert path.read_bytes().decode("utf-8") == ('article_id,comment_text\r\n1,"first, with a comma\nand a newline"\r\n'
                                                '3,second\r\n')
    assert bench.count_comments(source) == 3


def test_run_process_measures_a_cold_child(bench, tmp_path):
    code = "import time; x = bytearray(80 * 2**20); t = time.process_time(); exec('while time.process_time() - t < 0.3: pass'); print('ok')"
    proc = bench.run_process([sys.executable, "-c", code], tmp_path, tmp_path, "child")
    assert proc["returncode"] == 0 and proc["stdout"].strip() == "ok"
    assert proc["wall_s"] >= proc["cpu_s"] * 0.5 and proc["cpu_s"] >= 0.3
    assert proc["peak_rss_mb"] >= 80
    failing = bench.run_process([sys.executable, "-c", "import sys; sys.exit(3)"], tmp_path, tmp_path, "bad")
    assert failing["returncode"] == 3


def test_missing_data_is_a_clear_skip(bench, tmp_path, capsys):
    assert bench.main(["--data", str(tmp_path / "none.csv")]) == 0
    assert "skipped:" in capsys.readouterr().out
