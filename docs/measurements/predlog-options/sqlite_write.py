"""6: append 200k records in 100-record transactions to SQLite (WAL, synchronous=NORMAL): JSON vs typed.
Then the compaction step: read 100k typed rows back out and write a Parquet segment; and the JSON read+parse cost."""
import json, os, sqlite3, sys, time, resource, uuid
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from common import *
D = "/tmp/pl-measure/sqlite"; os.makedirs(D, exist_ok=True)
R, B = 200_000, 100
rng = np.random.default_rng(2)
num = rng.normal(0, 1, (R, 10)); cat = [rng.integers(0, k, R) for k in NCATS]
score = rng.random(R); ts0 = T0
# the records as the server would hold them: dicts of feature name -> python value
recs = [dict(zip(NUM, num[r].tolist())) | {c: CATS[j][cat[j][r]] for j, c in enumerate(CAT)} for r in range(R)]
def connect(name):
    p = f"{D}/{name}.db"
    for s in ("", "-wal", "-shm"):
        if os.path.exists(p + s): os.remove(p + s)
    con = sqlite3.connect(p, isolation_level=None); con.execute("pragma journal_mode=wal"); con.execute("pragma synchronous=normal")
    return con, p
res = {}
# JSON: the current airloop schema (predlog.py), with its indexes
con, pj = connect("json")
con.executescript("""create table predictions (request_id text not null, row integer not null, ts real not null,
 model_version text not null, entity_id text, features text not null, prediction text not null, probabilities text,
 primary key (request_id, row));
create index predictions_ts on predictions(ts); create index predictions_entity on predictions(entity_id);
create index predictions_version on predictions(model_version, ts);""")
t = time.perf_counter()
for s in range(0, R, B):
    rid = uuid.uuid4().hex
    rows = [(rid, r - s, ts0 + r * 0.01, "3", f"e{r}", json.dumps(recs[r]), str(int(score[r] > .5)), json.dumps([1 - score[r], score[r]])) for r in range(s, s + B)]
    con.execute("begin"); con.executemany("insert or replace into predictions values (?,?,?,?,?,?,?,?)", rows); con.execute("commit")
res["json_rec_per_s"] = round(R / (time.perf_counter() - t))
# typed: one column per feature, integer request id, indexes on ts only (rowid order = arrival)
con2, pt = connect("typed")
con2.execute(f"""create table predictions (request_id integer not null, ts real not null, model_version integer not null,
 {', '.join(f'{c} real' for c in NUM)}, {', '.join(f'{c} text' for c in CAT)}, prediction integer, score real)""")
con2.execute("create index predictions_ts on predictions(ts)")
q = f"insert into predictions values ({','.join('?' * 20)})"
t = time.perf_counter()
for s in range(0, R, B):
    rows = [(r, ts0 + r * 0.01, 3, *(recs[r][c] for c in NUM), *(recs[r][c] for c in CAT), int(score[r] > .5), float(score[r])) for r in range(s, s + B)]
    con2.execute("begin"); con2.executemany(q, rows); con2.execute("commit")
res["typed_rec_per_s"] = round(R / (time.perf_counter() - t))
res["json_db_MB"] = round((os.path.getsize(pj) + os.path.getsize(pj + "-wal")) / 1e6, 1)
res["typed_db_MB"] = round((os.path.getsize(pt) + os.path.getsize(pt + "-wal")) / 1e6, 1)
# compaction: 100k typed rows -> Arrow -> Parquet segment, then delete them
t = time.perf_counter()
cur = con2.execute("select * from predictions where ts < ?", (ts0 + 100_000 * 0.01,))
names = [d[0] for d in cur.description]; data = cur.fetchall()
colsT = list(zip(*data))
tab = pa.table({n: (pa.array(v).dictionary_encode() if n in CAT else pa.array(v)) for n, v in zip(names, colsT)})
t_sel = time.perf_counter() - t
pq.write_table(tab, f"{D}/seg.parquet", compression="zstd"); t_pq = time.perf_counter() - t - t_sel
con2.execute("begin"); con2.execute("delete from predictions where ts < ?", (ts0 + 100_000 * 0.01,)); con2.execute("commit")
res["compact_100k_typed_s"] = round(time.perf_counter() - t, 2); res["compact_select_to_arrow_s"] = round(t_sel, 2); res["compact_parquet_write_s"] = round(t_pq, 2)
# the current monitor's read: 100k JSON rows out of SQLite and json.loads'd into columns
t = time.perf_counter()
rows = con.execute("select ts, features, prediction, probabilities from predictions where ts < ?", (ts0 + 100_000 * 0.01,)).fetchall()
feats = [json.loads(r[1]) for r in rows]; probs = [json.loads(r[3]) for r in rows]
import pandas as pd; df = pd.DataFrame(feats)
res["json_read_parse_100k_s"] = round(time.perf_counter() - t, 2)
res["json_read_parse_10M_extrapolated_s"] = round(res["json_read_parse_100k_s"] * 100, 0)
res["peak_rss_MB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(res)
