"""grinlab download: fetch third-party model files (YuNet) into the cache, with a sha256 check."""

from __future__ import annotations

import argparse

NAME = "download"
HELP = "download a third-party model file (yunet) into the cache, or install it from a local file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="what to download: yunet")
    p.add_argument(
        "--from", dest="source", metavar="FILE", help="install from a local copy instead of downloading"
    )
    p.add_argument("--force", action="store_true", help="replace a file already in the cache")
    p.add_argument("--list", action="store_true", help="list what can be downloaded and where it goes")


def run(args) -> int:
    from ..assets import ASSETS, asset_path, cache_dir, download, install_from
    from ..errors import GrinlabError

    if args.list or not args.name:
        for a in ASSETS.values():
            where = asset_path(a.name)
            print(f"{a.name}: {a.filename} ({a.size:,} bytes, {a.licence}) from {a.url}")
            print(f"    sha256 {a.sha256}; {'installed at ' + str(where) if where else 'not installed'}")
        print(f"cache folder: {cache_dir()} (set GRINLAB_HOME to move it)")
        return 0
    if args.name not in ASSETS:
        raise GrinlabError(f"unknown download {args.name!r}; available: {', '.join(ASSETS)} (see --list)")
    if args.source:
        path = install_from(args.name, args.source, force=args.force)
    else:
        path = download(args.name, force=args.force)
    print(f"{args.name}: {path} (sha256 verified)")
    return 0
