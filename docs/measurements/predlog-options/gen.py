"""1+2: 10M prediction rows as 100 hourly Parquet segments (100k rows), and 5M labels."""
import os, sys, time, resource, shutil
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from common import *
codec = sys.argv[1] if len(sys.argv) > 1 else "zstd"
out = f"/tmp/pl-measure/data-{codec}"
shutil.rmtree(out, ignore_errors=True); os.makedirs(out + "/predictions")
rng = np.random.default_rng(0)
t = time.perf_counter(); wt = 0.0
for s in range(N_SEG):
    n = SEG_ROWS
    drift = s / N_SEG  # slow drift over the window
    ts = T0 + s * 3600 + np.sort(rng.random(n)) * 3600
    cols = {"ts": pa.array(ts), "request_id": pa.array(np.arange(s * n, (s + 1) * n, dtype=np.int64))}
    cols["model_version"] = pa.DictionaryArray.from_arrays(pa.array(np.full(n, 0 if s < 60 else 1, np.int8)), pa.array(["3", "4"]))
    for i, c in enumerate(NUM):
        x = rng.normal(drift * (i % 3) * 0.3, 1.0 + 0.1 * i, n)
        cols[c] = pa.array(x.astype(np.float32 if i < 5 else np.float64))
    for c, cats in zip(CAT, CATS):
        p = rng.dirichlet(np.ones(len(cats)) * (5 - 4 * drift if c == "c1" else 5))
        idx = rng.choice(len(cats), n, p=p).astype(np.int8)
        cols[c] = pa.DictionaryArray.from_arrays(pa.array(idx), pa.array(cats))
    z = 0.8 * cols["n0"].to_numpy() - 0.5 * cols["n5"].to_numpy() + rng.normal(0, 1, n)
    score = (1 / (1 + np.exp(-z))).astype(np.float32)
    cols["score"] = pa.array(score)
    cols["prediction"] = pa.array((score > 0.5).astype(np.int8))
    tab = pa.table(cols)
    hour = int(T0 // 3600) + s
    t1 = time.perf_counter()
    pq.write_table(tab, f"{out}/predictions/hour={hour}.parquet", compression=codec, row_group_size=n)
    wt += time.perf_counter() - t1
w = time.perf_counter() - t
# labels: 5M of the 10M request ids, arriving in arbitrary order; label ~ Bernoulli(score-ish)
t = time.perf_counter()
rid = rng.choice(N_SEG * SEG_ROWS, 5_000_000, replace=False).astype(np.int64)
seg, off = rid // SEG_ROWS, rid % SEG_ROWS
lab = (rng.random(rid.size) < 0.5).astype(np.int8)  # placeholder, replaced from scores below
import pyarrow.dataset as ds
sc = ds.dataset(f"{out}/predictions", format="parquet").to_table(columns=["score"])["score"].to_numpy()
lab = (rng.random(rid.size) < sc[rid]).astype(np.int8); del sc
pq.write_table(pa.table({"request_id": rid, "label": lab, "label_ts": T0 + rid / 1e5 * 3600 + 86400}), f"{out}/labels.parquet", compression=codec)
wl = time.perf_counter() - t
def du(p): return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(p) for f in fs)
print(f"codec={codec} gen+write_s={w:.2f} pq_write_only_s={wt:.2f} per_100k_segment_ms={wt*10:.0f} size_predictions_MB={du(out+'/predictions')/1e6:.1f} "
      f"labels_s={wl:.2f} size_labels_MB={os.path.getsize(out+'/labels.parquet')/1e6:.1f} "
      f"peak_rss_MB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f}")
