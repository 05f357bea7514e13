"""3+4: one monitor pass over 10M rows. mode = drift | labels | both | join_arrow"""
import os, sys, time, resource
import numpy as np, pyarrow as pa, pyarrow.dataset as ds, pyarrow.parquet as pq, pyarrow.compute as pc
from common import *
mode = sys.argv[1]; root = sys.argv[2] if len(sys.argv) > 2 else "/tmp/pl-measure/data-zstd"
threads = sys.argv[3] if len(sys.argv) > 3 else "on"
if threads == "off": pa.set_cpu_count(1); pa.set_io_thread_count(1)
t0 = time.perf_counter()
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
# reference: a 200k-row "training" sample from the undrifted distribution; decile edges + counts
rng = np.random.default_rng(1); m = 200_000
ref_num = {c: rng.normal(0, 1.0 + 0.1 * i, m) for i, c in enumerate(NUM)}
edges = {c: np.quantile(v, np.linspace(0, 1, 11)[1:-1]) for c, v in ref_num.items()}  # 9 inner edges -> 10 bins
ref_cnt = {c: np.bincount(np.searchsorted(edges[c], v, side="right"), minlength=10) for c, v in ref_num.items()}
ref_cat = {c: rng.multinomial(m, np.ones(k) / k) for c, k in zip(CAT, NCATS)}
SB = 100  # score bins
ref_score = np.bincount(np.minimum((rng.beta(2, 2, m) * SB).astype(np.int64), SB - 1), minlength=SB)
cat_pos = {c: {v: j for j, v in enumerate(cats)} for c, cats in zip(CAT, CATS)}

dset = ds.dataset(f"{root}/predictions", format="parquet")
lo, hi = T0, T0 + N_SEG * 3600
filt = (ds.field("ts") >= lo) & (ds.field("ts") < hi)
cols = ["request_id", "score", "prediction"]
if mode in ("drift", "both"): cols = ["ts"] + NUM + CAT + ["score", "prediction", "model_version"] + (["request_id"] if mode == "both" else [])
if mode in ("labels", "both"):
    t = time.perf_counter()
    lt = pq.read_table(f"{root}/labels.parquet", columns=["request_id", "label"])
    lid = lt["request_id"].to_numpy(); lab = lt["label"].to_numpy(); del lt
    order = np.argsort(lid, kind="stable"); lid = lid[order]; lab = lab[order]; del order
    t_labels = time.perf_counter() - t

cur = {c: np.zeros(10, np.int64) for c in NUM}; nan = {c: 0 for c in NUM}
cur_cat = {c: np.zeros(len(CATS[i]) + 1, np.int64) for i, c in enumerate(CAT)}  # last slot = unseen
score_h = np.zeros(SB, np.int64); pred_h = np.zeros(2, np.int64)
pos_h = np.zeros(SB, np.int64); neg_h = np.zeros(SB, np.int64); correct = 0; labeled = 0; rows = 0

if mode == "join_arrow":
    t = time.perf_counter()
    preds = dset.to_table(columns=cols, filter=filt)
    labels = pq.read_table(f"{root}/labels.parquet", columns=["request_id", "label"])
    j = preds.join(labels, "request_id", join_type="inner")
    s = j["score"].to_numpy(); y = j["label"].to_numpy(); p = j["prediction"].to_numpy()
    b = np.minimum((s * SB).astype(np.int64), SB - 1)
    pos_h += np.bincount(b[y == 1], minlength=SB); neg_h += np.bincount(b[y == 0], minlength=SB)
    correct = int((p == y).sum()); labeled = len(y); rows = preds.num_rows
else:
    for batch in dset.to_batches(columns=cols, filter=filt, batch_size=131_072, use_threads=threads == "on",
                                   fragment_readahead=int(os.environ.get("FRA", 4)), batch_readahead=int(os.environ.get("BRA", 16))):
        rows += batch.num_rows
        s = batch.column("score").to_numpy(zero_copy_only=False)
        b = np.minimum((s * SB).astype(np.int64), SB - 1)
        if mode in ("drift", "both"):
            for c in NUM:
                x = batch.column(c).to_numpy(zero_copy_only=False)
                ok = ~np.isnan(x); nan[c] += int((~ok).sum())
                cur[c] += np.bincount(np.searchsorted(edges[c], x[ok], side="right"), minlength=10)
            for c in CAT:
                a = batch.column(c)  # DictionaryArray: count codes, then map this batch's dictionary to ours
                counts = np.bincount(a.indices.to_numpy(zero_copy_only=False), minlength=len(a.dictionary))
                for v, k in zip(a.dictionary.to_pylist(), counts):
                    cur_cat[c][cat_pos[c].get(v, -1)] += k
            score_h += np.bincount(b, minlength=SB)
            pred_h += np.bincount(batch.column("prediction").to_numpy(zero_copy_only=False), minlength=2)
        if mode in ("labels", "both"):
            rid = batch.column("request_id").to_numpy()
            i = np.searchsorted(lid, rid); i[i == lid.size] = 0
            hit = lid[i] == rid
            y = lab[i[hit]]; bb = b[hit]
            pos_h += np.bincount(bb, weights=y, minlength=SB).astype(np.int64)
            neg_h += np.bincount(bb, minlength=SB) - np.bincount(bb, weights=y, minlength=SB).astype(np.int64)
            correct += int((batch.column("prediction").to_numpy(zero_copy_only=False)[hit] == y).sum()); labeled += int(hit.sum())

def psi(ref, cur, eps=1e-4):
    r = ref / max(ref.sum(), 1); c = cur / max(cur.sum(), 1); r = np.maximum(r, eps); c = np.maximum(c, eps)
    return float(((c - r) * np.log(c / r)).sum())
out = {"mode": mode, "threads": threads, "rows": rows}
if mode in ("drift", "both"):
    out["psi_num"] = {c: round(psi(ref_cnt[c], cur[c]), 4) for c in NUM}
    out["psi_cat"] = {c: round(psi(np.append(ref_cat[c], 0), cur_cat[c]), 4) for c in CAT}
    out["psi_score"] = round(psi(ref_score, score_h), 4)
if mode != "drift":
    # AUC from binned scores: P(score_pos > score_neg) + 0.5 P(tie in bin)
    P, N = pos_h.sum(), neg_h.sum(); neg_below = np.cumsum(neg_h) - neg_h
    out["auc_binned"] = round(float((pos_h * (neg_below + 0.5 * neg_h)).sum() / (P * N)), 5)
    out["accuracy"] = round(correct / labeled, 5); out["labeled"] = labeled
    if mode != "join_arrow": out["label_load_sort_s"] = round(t_labels, 2)
out["wall_s"] = round(time.perf_counter() - t0, 2); out["peak_rss_MB"] = round(rss())
print(out)
