"""FER2013 as a compact, lossless pack small enough to carry to a GPU machine (<= 64 MiB a call),
and back to the Kaggle csv format there.

The csv.xz is 78 MB and the loader's npz cache 83 MB (uncompressed, and keyed by the csv's path,
size and mtime, so it cannot stand in for the csv on another machine). Lossless WebP atlases of
the 35,887 48x48 faces take about 55 MiB; emotion and usage go in a small npz. ``unpack`` writes a
``fer2013.csv`` with the same rows in the same order, checked against the pixels' sha256, which the
ordinary FER2013 loader then reads (blank images, splits and labels as from the original).

    python benchmarks/fer2013_pack.py pack ../shared/data/fer2013/fer2013.csv.xz benchmarks/work/fer2013_pack
    python benchmarks/fer2013_pack.py unpack benchmarks/work/fer2013_pack benchmarks/work/fer2013.csv

With ``pack --ferplus ferplus/fer2013new.csv`` the FER+ votes of the packed rows travel too (about
0.2 MB in labels.npz instead of the csv's 1.6 MB), and ``unpack --ferplus OUT`` writes them back as a
``fer2013new.csv`` whose rows match the unpacked csv's, as the FER+ loader requires.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy as np

GRID = 64  # faces per atlas side: 4096 faces, 3072x3072 px per WebP file
LOSSLESS = [cv2.IMWRITE_WEBP_QUALITY, 101]  # OpenCV: quality above 100 means lossless WebP


def _sha256(pixels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()


def _keep(usage: np.ndarray, names: list[str]) -> np.ndarray:
    """Row mask for ``--usage NAME[:N]`` (each named usage, its first N rows when N is given)."""
    from grinlab.data.fer2013 import USAGES

    keep = np.zeros(len(usage), bool)
    for text in names:
        name, _, limit = text.partition(":")
        rows = np.flatnonzero(usage == USAGES.index(name))
        keep[rows[: int(limit)] if limit else rows] = True
    return keep


def pack(csv: Path, out: Path, usages: list[str] | None = None, ferplus: Path | None = None) -> int:
    from grinlab.data.fer2013 import _load_rows  # the loader's own parser (and its cache)

    rows = dict(_load_rows(csv, cache=True))
    if ferplus is not None:
        from grinlab.data.fer2013 import _read_ferplus
        from grinlab.errors import GrinlabError

        try:  # the loader's own checks: its header, one row per fer2013 row, the same usage
            _read_ferplus(ferplus, rows["usage"])
        except GrinlabError as e:
            print(e, file=sys.stderr)
            return 2
        # its rows as they are (votes, image names), so unpack writes the same lines back
        rows["ferplus_line"] = np.array(
            [x for x in ferplus.read_text(encoding="utf-8-sig").splitlines()[1:] if x]
        )
    if usages:  # a subset: e.g. Training and a few PublicTest rows, when the whole set does not fit
        keep = _keep(rows["usage"], usages)
        rows = {k: v[keep] for k, v in rows.items()}
    pixels = rows["pixels"]
    n, side = len(pixels), pixels.shape[1]
    out.mkdir(parents=True, exist_ok=True)
    per_atlas = GRID * GRID
    files = []
    for k, start in enumerate(range(0, n, per_atlas)):
        chunk = np.zeros((per_atlas, side, side), np.uint8)
        chunk[: min(per_atlas, n - start)] = pixels[start : start + per_atlas]
        atlas = chunk.reshape(GRID, GRID, side, side).transpose(0, 2, 1, 3).reshape(GRID * side, GRID * side)
        path = out / f"atlas-{k:02d}.webp"
        if not cv2.imwrite(str(path), atlas, LOSSLESS):
            print(f"{path}: OpenCV could not write WebP", file=sys.stderr)
            return 2
        if not np.array_equal(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), atlas):
            print(f"{path}: WebP round trip is not lossless here", file=sys.stderr)
            return 2
        files.append(path.name)
    extra = {k: rows[k] for k in ("ferplus_line",) if k in rows}
    np.savez_compressed(out / "labels.npz", emotion=rows["emotion"], usage=rows["usage"], **extra)
    manifest = {"rows": n, "side": side, "grid": GRID, "atlases": files, "pixels_sha256": _sha256(pixels),
                "source": {"name": csv.name, "bytes": csv.stat().st_size}, "usage": usages or "all",
                "ferplus": ferplus.name if ferplus else None}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"packed {n} faces into {out} ({total / 2**20:.1f} MiB)")
    return 0


def unpack(src: Path, csv: Path, ferplus: Path | None = None) -> int:
    from grinlab.data.fer2013 import FERPLUS_HEADER, HEADER, USAGES

    manifest_path = src / "manifest.json"
    if not manifest_path.is_file():
        print(f"{src}: no manifest.json; make the pack with 'pack' first", file=sys.stderr)
        return 2
    m = json.loads(manifest_path.read_text())
    side, grid = m["side"], m["grid"]
    atlases = []
    for name in m["atlases"]:
        atlas = cv2.imread(str(src / name), cv2.IMREAD_GRAYSCALE)
        if atlas is None:
            print(f"{src / name}: missing or unreadable", file=sys.stderr)
            return 2
        atlases.append(atlas.reshape(grid, side, grid, side).transpose(0, 2, 1, 3).reshape(-1, side, side))
    pixels = np.concatenate(atlases)[: m["rows"]]
    if _sha256(pixels) != m["pixels_sha256"]:
        print(f"{src}: pixels do not match the pack's sha256", file=sys.stderr)
        return 2
    labels = np.load(src / "labels.npz")
    csv.parent.mkdir(parents=True, exist_ok=True)
    tmp = csv.with_name(csv.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(HEADER + "\n")
        for px, e, u in zip(pixels.reshape(len(pixels), -1), labels["emotion"], labels["usage"], strict=True):
            f.write(f"{int(e)},{' '.join(map(str, px.tolist()))},{USAGES[int(u)]}\n")
    tmp.replace(csv)
    print(f"wrote {csv} ({len(pixels)} rows)")
    if ferplus is not None:
        if "ferplus_line" not in labels:
            print(f"{src}: packed without FER+ votes; pack again with --ferplus", file=sys.stderr)
            return 2
        ferplus.parent.mkdir(parents=True, exist_ok=True)
        with open(ferplus, "w") as f:
            f.write(",".join(FERPLUS_HEADER) + "\n")
            f.writelines(line + "\n" for line in labels["ferplus_line"].tolist())
        print(f"wrote {ferplus} (FER+ votes of the same rows)")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack", help="fer2013.csv[.xz] -> a folder of WebP atlases + labels")
    a.add_argument("csv", type=Path)
    a.add_argument("out", type=Path)
    a.add_argument(
        "--ferplus", type=Path, metavar="FER2013NEW_CSV", help="also pack FER+'s votes of these rows"
    )
    a.add_argument("--usage", action="append", metavar="NAME[:N]",
                   help="keep only these usages (Training, PublicTest, PrivateTest), the first N rows "
                   "of one with :N; repeatable (default: all rows)")  # fmt: skip
    b = sub.add_parser("unpack", help="a pack folder -> fer2013.csv")
    b.add_argument("pack", type=Path)
    b.add_argument("csv", type=Path)
    b.add_argument("--ferplus", type=Path, metavar="OUT_CSV", help="write the packed FER+ votes here")
    args = p.parse_args(argv)
    if args.cmd == "pack":
        if not args.csv.is_file():
            print(f"{args.csv}: FER2013 csv not found", file=sys.stderr)
            return 2
        from grinlab.data.fer2013 import USAGES

        bad = [u for u in args.usage or () if u.partition(":")[0] not in USAGES]
        if bad:
            print(f"--usage {bad[0]}: not one of {', '.join(USAGES)}", file=sys.stderr)
            return 2
        if args.ferplus is not None and not args.ferplus.is_file():
            print(f"{args.ferplus}: FER+ csv not found", file=sys.stderr)
            return 2
        return pack(args.csv, args.out, args.usage, args.ferplus)
    return unpack(args.pack, args.csv, args.ferplus)


if __name__ == "__main__":
    sys.exit(main())
