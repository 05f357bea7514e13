import numpy as np
N_SEG = 100
SEG_ROWS = 100_000
T0 = 1_760_000_000.0  # epoch seconds
NUM = [f"n{i}" for i in range(10)]
CAT = [f"c{i}" for i in range(5)]
NCATS = [5, 12, 20, 35, 50]
CATS = [[f"{c}_v{j}" for j in range(k)] for c, k in zip(CAT, NCATS)]
