"""report stage: HTML report (inline SVG charts) and CSV exports of one run."""
