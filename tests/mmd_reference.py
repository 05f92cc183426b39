# Cross-check for tests/test_mmd.c (not run by the suite): an independent
# transcription of eugenium/MMD mmd.py (MMD_3_Sample_Test with
# computeMMDs, MMD_Diff_Var, grbf, kernelwidthPair) in plain Python doubles.
import math, random
def sq(a, b): return sum((p - q) ** 2 for p, q in zip(a, b))
def width(A, B):
    h = [sq(a, b) for a in A for b in B]
    h = sorted(v for v in h if v)
    if not h: return 1.0
    n = len(h); med = h[n // 2] if n % 2 else 0.5 * (h[n // 2 - 1] + h[n // 2])
    s = math.sqrt(med / 2.0)
    return s if s else 1.0
def K(A, B, s): return [[math.exp(-sq(a, b) / (2 * s * s)) for b in B] for a in A]
def T(M): return [list(r) for r in zip(*M)]
def dot(A, B): return [[sum(A[i][k] * B[k][j] for k in range(len(B))) for j in range(len(B[0]))] for i in range(len(A))]
def tot(M): return sum(sum(r) for r in M)
def nd(M): return [[0.0 if i == j else v for j, v in enumerate(r)] for i, r in enumerate(M)]
def test(X, Y, Z, sigma=-1):
    if sigma < 0:
        siz = min(1000, len(X))
        sigma = (width(X[:siz], Y[:siz]) + width(X[:siz], Z[:siz])) / 2.0
    Kyy, Kzz, Kxy, Kxz, Kxx = K(Y, Y, sigma), K(Z, Z, sigma), K(X, Y, sigma), K(X, Z, sigma), K(X, X, sigma)
    m, n, r = len(X), len(Y), len(Z)
    Kyynd, Kzznd = nd(Kyy), nd(Kzz)
    u_yy = tot(Kyynd) / (n * (n - 1)); u_zz = tot(Kzznd) / (r * (r - 1))
    u_xy = tot(Kxy) / (m * n); u_xz = tot(Kxz) / (m * r)
    t1 = tot(dot(T(Kyynd), Kyynd)) / n**3 - u_yy**2
    t2 = tot(dot(T(Kxy), Kxy)) / (n**2 * m) - u_xy**2
    t3 = tot(dot(Kxy, T(Kxy))) / (n * m**2) - u_xy**2
    t4 = tot(dot(T(Kzznd), Kzznd)) / r**3 - u_zz**2
    t5 = tot(dot(Kxz, T(Kxz))) / (r * m**2) - u_xz**2
    t6 = tot(dot(T(Kxz), Kxz)) / (r**2 * m) - u_xz**2
    t7 = tot(dot(Kyynd, T(Kxy))) / (n**2 * m) - u_yy * u_xy
    t8 = tot(dot(T(Kxy), Kxz)) / (n * m * r) - u_xz * u_xy
    t9 = tot(dot(Kzznd, T(Kxz))) / (r**2 * m) - u_zz * u_xz
    zeta1 = t1 + t2 + t3 + t4 + t5 + t6 - 2 * (t7 + t8 + t9)
    var = 4.0 * (m - 2) / (m * (m - 1)) * zeta1
    u_xx = tot(nd(Kxx)) / (m * (m - 1))
    mxy, mxz = u_xx + u_yy - 2 * u_xy, u_xx + u_zz - 2 * u_xz
    t = u_yy - 2 * u_xy - u_zz + 2 * u_xz
    if var <= 0: return dict(sigma=sigma, mmd2_xy=mxy, mmd2_xz=mxz, t=t, var=var)
    return dict(sigma=sigma, mmd2_xy=mxy, mmd2_xz=mxz, t=t, var=var, stat=t / math.sqrt(var),
                p=0.5 * math.erfc(t / math.sqrt(2 * var)))
if __name__ == "__main__":
    X = [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]
    Y = [[0.5, 0.0], [1.0, 2.0], [0.0, 1.0]]
    Z = [[3.0, 0.0], [2.0, 2.0], [0.0, 3.0], [2.5, 1.0]]
    for s in (1.0, -1):
        print(s, {k: repr(v) for k, v in test(X, Y, Z, s).items()})
    # a case whose variance is not positive
    rnd = random.Random(1)
    for trial in range(20000):
        m, n, r = 3, 2, 2
        P = lambda k: [[float(rnd.randint(0, 3))] for _ in range(k)]
        X, Y, Z = P(m), P(n), P(r)
        res = test(X, Y, Z, 1.0)
        if res["var"] <= 0:
            print("nonpositive", X, Y, Z, res); break
