"""Peer for bench/headers.ts: astropy opens each file and parses every card of every HDU.

Accessing every card's value makes astropy do the same work fitslake does (fitslake types every card);
without it astropy defers card parsing and the comparison would not be like for like.
Prints JSON: {"reader", "files", "cards", "seconds"}."""
import json, sys, time
from astropy.io import fits

files = [l.strip() for l in open(sys.argv[1]) if l.strip()]
t0 = time.perf_counter()
cards = 0
for f in files:
    with fits.open(f, memmap=False, lazy_load_hdus=False) as hdul:
        for hdu in hdul:
            for card in hdu.header.cards:
                card.value
                cards += 1
dt = time.perf_counter() - t0
print(json.dumps({"reader": "astropy " + __import__("astropy").__version__, "files": len(files), "cards": cards, "seconds": dt}))
