"""Peer for bench/ingest.ts: the glue script teams write today — walk a folder, open each FITS with
astropy, keep every header card, and insert one row per file and per HDU into SQLite (one
transaction per 500 files, WAL, as a careful script would). Prints JSON: {"tool", "files", "seconds"}."""
import json, os, sqlite3, sys, time
from astropy.io import fits

src, db_path = sys.argv[1], sys.argv[2]
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs)
db = sqlite3.connect(db_path)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE IF NOT EXISTS files (id INTEGER PRIMARY KEY, path TEXT UNIQUE, size INTEGER)")
db.execute("CREATE TABLE IF NOT EXISTS hdus (file_id INTEGER, idx INTEGER, cards TEXT)")
t0 = time.perf_counter()
for i, f in enumerate(files):
    with fits.open(f, memmap=False, lazy_load_hdus=False) as hdul:
        cur = db.execute("INSERT INTO files (path, size) VALUES (?, ?)", (f, os.path.getsize(f)))
        for k, hdu in enumerate(hdul):
            cards = [[c.keyword, c.value if isinstance(c.value, (int, float, str, bool)) else str(c.value), c.comment] for c in hdu.header.cards]
            db.execute("INSERT INTO hdus VALUES (?, ?, ?)", (cur.lastrowid, k, json.dumps(cards)))
    if i % 500 == 499:
        db.commit()
db.commit()
dt = time.perf_counter() - t0
print(json.dumps({"tool": "astropy " + __import__("astropy").__version__ + " + sqlite3 script", "files": len(files), "seconds": dt}))
