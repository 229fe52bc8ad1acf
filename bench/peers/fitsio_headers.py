"""Peer for bench/headers.ts: fitsio (cfitsio) opens each file and reads every HDU's header.
Prints JSON: {"reader", "files", "cards", "seconds"}."""
import json, sys, time
import fitsio

files = [l.strip() for l in open(sys.argv[1]) if l.strip()]
t0 = time.perf_counter()
cards = 0
for f in files:
    with fitsio.FITS(f) as F:
        for hdu in F:
            cards += len(hdu.read_header().records())
dt = time.perf_counter() - t0
print(json.dumps({"reader": "fitsio " + fitsio.__version__, "files": len(files), "cards": cards, "seconds": dt}))
