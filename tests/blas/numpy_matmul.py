# SPDX-License-Identifier: BSD-3-Clause
"""float32 matrix products through numpy, for tests/blas_numpy.sh.

    numpy_matmul.py run OUT.npz        computes every case, saves the products, prints how many
                                       of them numpy hands to cblas_sgemm ("blas_calls N")
    numpy_matmul.py compare A.npz B.npz
                                       holds both sets of products to the GEMM error bound
                                       against a float64 reference; exit status 1 if one fails

The inputs come from a fixed seed, so both runs (with and without libhpk_blas preloaded)
multiply the same matrices. Every case has m, n, k >= 2 and operands that numpy passes to
cblas_sgemm as they lie (contiguous, transposed, or a row-strided view: lda > k), so each
product is exactly one cblas_sgemm call; a dimension of 1 would go to sgemv instead.
"""
import sys

import numpy as np

# (m, n, k): tiny, around the microkernel tiles (6x16, 4x16, 4x8), primes, more than one KC
# block (k > 320) and a size that takes hpk's threads.
SHAPES = [
    (2, 2, 2),
    (3, 5, 7),
    (6, 16, 2),
    (12, 32, 321),
    (7, 17, 33),
    (16, 16, 16),
    (31, 47, 129),
    (64, 64, 64),
    (100, 3, 250),
    (3, 100, 250),
    (257, 129, 700),
    (512, 512, 512),
]

# How each operand is stored: numpy maps these to CblasNoTrans, CblasTrans, or an lda > k.
LAYOUTS = ["nn", "tn", "nt", "tt", "strided"]


def operand(rng, rows, cols, how):
    """A rows x cols float32 matrix stored as `how` says."""
    x = rng.uniform(-1.0, 1.0, size=(rows, cols)).astype(np.float32)
    if how == "t":
        return np.ascontiguousarray(x.T).T  # Fortran order: numpy passes the transpose
    if how == "strided":
        wide = np.zeros((rows, cols + 5), dtype=np.float32)
        wide[:, :cols] = x
        return wide[:, :cols]  # row stride cols + 5: lda > k
    return x


def cases():
    rng = np.random.default_rng(20240611)
    for m, n, k in SHAPES:
        for lay in LAYOUTS:
            if lay == "strided":
                a, b = operand(rng, m, k, "strided"), operand(rng, k, n, "strided")
            else:
                a, b = operand(rng, m, k, lay[0]), operand(rng, k, n, lay[1])
            yield f"{m}x{n}x{k}_{lay}", a, b


def run(out):
    results = {}
    for name, a, b in cases():
        results[name] = a @ b
    np.savez(out, **results)
    print(f"blas_calls {len(results)}")
    print(f"numpy {np.__version__} from {np.__file__}")


def compare(file_a, file_b):
    got_a, got_b = np.load(file_a), np.load(file_b)
    u = 2.0**-24  # unit roundoff of float32
    bad = 0
    worst = 0.0
    differ = 0
    for name, a, b in cases():
        differ += int(not np.array_equal(got_a[name], got_b[name]))
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        ref = a64 @ b64
        k = a.shape[1]
        # |c - ref| <= 2 (k + 5) u sum_p |a_ip| |b_pj|: the bound of hpk's own tests.
        bound = 2.0 * (k + 5) * u * (np.abs(a64) @ np.abs(b64))
        for label, got in ((file_a, got_a[name]), (file_b, got_b[name])):
            if got.shape != ref.shape or got.dtype != np.float32:
                print(f"FAIL {name} ({label}): shape {got.shape} {got.dtype}, want {ref.shape}")
                bad += 1
                continue
            err = np.abs(got.astype(np.float64) - ref)
            ratio = float(np.max(err / np.maximum(bound, np.finfo(np.float64).tiny)))
            worst = max(worst, ratio)
            if not np.all(err <= bound):
                i, j = np.unravel_index(np.argmax(err - bound), err.shape)
                print(f"FAIL {name} ({label}): C[{i}][{j}] = {got[i, j]!r}, reference "
                      f"{ref[i, j]!r}, error {err[i, j]:.3g} > bound {bound[i, j]:.3g}")
                bad += 1
    print(f"{len(got_a.files)} products each, worst error / bound {worst:.3f}; "
          f"{differ} products differ bitwise between the two runs")
    return 1 if bad else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "run":
        run(argv[2])
        return 0
    if len(argv) == 4 and argv[1] == "compare":
        return compare(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
