"""cvxEDA: convex decomposition of EDA into phasic, tonic and noise (Greco et al.).

We follow the published formulation of A. Greco, G. Valenza, A. Lanata, E. P. Scilingo and
L. Citi, "cvxEDA: a Convex Optimization Approach to Electrodermal Activity Processing",
IEEE Trans. Biomed. Eng. 63(4), 2016 (doi:10.1109/TBME.2015.2474131), in the QP form of its
eq. (15) exactly as the authors' reference code (PyPI ``cvxeda`` 1.1, default linear baseline
correction) states it:

    minimise  0.5 * ||M q + B l + C d - y||^2 + alpha * 1'A q + 0.5 * gamma * ||l||^2
    subject to  A q >= 0

with the Bateman impulse response discretised as the ARMA model p = A q, r = M q (bilinear
transform of the two time constants tau0, tau1), B the cubic B-spline regressors of the tonic
(knots every ``delta_knot`` seconds), C = [1, k/n] the linear drift term.  The driver is
p = A q, the phasic component r = M q and the tonic t = B l + C d.

The QP is solved with cvxopt's ``coneqp`` (the same interior-point method and tolerances as the
reference), but the KKT systems are solved by block elimination that exploits their structure:
the (q, q) block M'M + A'W^-2 A is pentadiagonal (banded Cholesky, O(n)), and the few spline and
drift variables are eliminated through a small dense Schur complement.  The reference hands a
general sparse matrix to CHOLMOD instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cvxopt
import cvxopt.solvers
import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg import lapack

# cvxopt's stopping rules as the reference sets them (reltol 1e-9, the rest cvxopt defaults).
SOLVER_OPTIONS = {"reltol": 1e-9, "abstol": 1e-7, "feastol": 1e-7, "maxiters": 100}


@dataclass
class CvxEDAResult:
    """The decomposition of one signal; arrays have len(y) unless stated otherwise."""

    phasic: np.ndarray  # r = M q
    driver: np.ndarray  # p = A q >= 0 (sparse SMNA driver)
    tonic: np.ndarray  # t = B l + C d
    spline: np.ndarray  # l, tonic spline coefficients (n_knots,)
    drift: np.ndarray  # d, offset and slope of the linear drift (2,)
    residual: np.ndarray  # e = y - r - t
    objective: float  # value of eq. (15)
    status: str  # cvxopt status: 'optimal' or 'unknown' (or 'error: ...')
    iterations: int
    info: dict = field(default_factory=dict)  # gap, relative gap, primal/dual infeasibility

    @property
    def converged(self) -> bool:
        """True when the solver reached its stopping criteria."""
        return self.status == "optimal"


@dataclass(frozen=True)
class _Problem:
    """The QP data of one signal length / sampling rate / parameter set."""

    n: int
    ar: np.ndarray  # A's diagonals: A[i, i], A[i+1, i], A[i+2, i]
    B: sp.csc_matrix  # (n, nB) spline regressors
    C: np.ndarray  # (n, 2) drift regressors
    gamma: float
    alpha: float


def bateman_arma(fs: float, tau0: float, tau1: float) -> np.ndarray:
    """AR coefficients of the Bateman ARMA model (bilinear transform), as in the paper."""
    delta = 1.0 / fs
    a1 = 1.0 / min(tau1, tau0)
    a0 = 1.0 / max(tau1, tau0)
    return np.array(
        [
            (a1 * delta + 2.0) * (a0 * delta + 2.0),
            2.0 * a1 * a0 * delta**2 - 8.0,
            (a1 * delta - 2.0) * (a0 * delta - 2.0),
        ]
    ) / ((a1 - a0) * delta**2)


def spline_basis(n: int, fs: float, delta_knot: float) -> sp.csc_matrix:
    """Cubic B-spline regressors with knots every `delta_knot` s (columns clipped to [0, n))."""
    dks = int(round(delta_knot * fs))
    if dks < 1:
        raise ValueError(f"delta_knot={delta_knot} s is below one sample at fs={fs} Hz")
    knots = np.arange(0, n + dks // 2, dks)
    spl = np.concatenate((np.arange(1.0, dks), np.arange(dks, 0.0, -1.0)))
    spl = np.convolve(spl, spl, "full")
    spl /= spl.max()
    rows = np.arange(-(len(spl) // 2), (len(spl) + 1) // 2)[:, None] + knots[None, :]
    cols = np.broadcast_to(np.arange(len(knots)), rows.shape)
    vals = np.broadcast_to(spl[:, None], rows.shape)
    valid = (rows >= 0) & (rows < n)
    return sp.csc_matrix((vals[valid], (rows[valid], cols[valid])), shape=(n, len(knots)))


def _lower_banded(t: tuple[float, float, float], w: np.ndarray) -> np.ndarray:
    """Lower band (3, n) of T' diag(w) T for the lower-triangular Toeplitz T with diagonals t."""
    n = len(w)
    t0, t1, t2 = t
    wp = np.concatenate((w, [0.0, 0.0]))
    band = np.zeros((3, n))
    band[0] = t0 * t0 * wp[:n] + t1 * t1 * wp[1 : n + 1] + t2 * t2 * wp[2 : n + 2]
    band[1, : n - 1] = t1 * t0 * wp[1:n] + t2 * t1 * wp[2 : n + 1]
    band[2, : n - 2] = t2 * t0 * wp[2:n]
    return band


def _apply_lower(t: tuple[float, float, float], x: np.ndarray) -> np.ndarray:
    """T x for the lower-triangular Toeplitz T with diagonals t (x may be (n,) or (n, k))."""
    out = t[0] * x
    out[1:] += t[1] * x[:-1]
    out[2:] += t[2] * x[:-2]
    return out


def _apply_lower_t(t: tuple[float, float, float], x: np.ndarray) -> np.ndarray:
    """T' x for the lower-triangular Toeplitz T with diagonals t."""
    out = t[0] * x
    out[:-1] += t[1] * x[1:]
    out[:-2] += t[2] * x[2:]
    return out


_MA = (1.0, 2.0, 1.0)


def _build(n: int, fs: float, tau0: float, tau1: float, delta_knot: float, alpha: float,
           gamma: float) -> _Problem:
    B = spline_basis(n, fs, delta_knot)
    C = np.column_stack((np.ones(n), np.arange(1.0, n + 1.0) / n))
    return _Problem(n=n, ar=bateman_arma(fs, tau0, tau1), B=B, C=C, gamma=gamma, alpha=alpha)


def _banded_toeplitz(t: tuple[float, float, float], n: int) -> sp.csc_matrix:
    return sp.diags([np.full(n, t[0]), np.full(n - 1, t[1]), np.full(n - 2, t[2])], [0, -1, -2],
                    format="csc")


_DENSE_MAX = 2_000_000  # n * (2 + nB) up to which V = L^-1 U is kept dense
_TAIL_TOL = 1e-30  # L^-1 U columns are cut where their recurrence state falls below this
_SHORT = 4000  # up to this many samples V = L^-1 U is one dense triangular solve
_STEP = 64  # first look for the tail this many samples past a column's support, then doubling
_FLUSH = 1e-150  # so that products of two entries stay normal numbers


def _forward_truncated(chol: np.ndarray, U: np.ndarray, starts: np.ndarray,
                       ends: np.ndarray, dense: bool) -> np.ndarray | sp.csc_matrix:
    """V = L^-1 U for banded lower-triangular L (LAPACK band storage), dense or sparse.

    Column k of U is zero outside rows [starts[k], ends[k]); beyond its support V's column obeys
    the homogeneous recurrence of L, which decays; it is cut once its two-sample state is below
    _TAIL_TOL of the column's peak (computing the decayed tail would also crawl through
    denormal numbers, which made dense solves ~100x slower on long recordings).
    """
    n, m = U.shape
    rows, cols, vals = [], [], []
    out = np.zeros((n, m), order="F") if dense else None
    for k in range(m):
        s, e = int(starts[k]), int(ends[k])
        stop = min(n, e + _STEP)
        step = _STEP
        pieces = []
        rhs = U[s:stop, k].copy()
        lo = s
        while True:
            v, info = lapack.dtbtrs(chol[:, lo:stop], rhs[:, None], uplo="L")
            v = v[:, 0]
            pieces.append(v)
            if stop >= n:
                break
            peak = max(float(np.abs(p).max()) for p in pieces)
            tail = max(abs(v[-1]), abs(v[-2])) if len(v) >= 2 else abs(v[-1])
            if tail <= _TAIL_TOL * peak:
                break
            step *= 2
            new_stop = min(n, stop + step)
            v1 = v[-1]
            v2 = v[-2] if len(v) >= 2 else pieces[-2][-1]
            rhs = np.zeros(new_stop - stop)
            rhs[: min(len(rhs), e - stop)] = U[stop:min(e, new_stop), k] if e > stop else 0.0
            rhs[0] -= chol[2, stop - 2] * v2 + chol[1, stop - 1] * v1
            if len(rhs) > 1:
                rhs[1] -= chol[2, stop - 1] * v1
            lo, stop = stop, new_stop
        col = np.concatenate(pieces)
        col[np.abs(col) < _FLUSH] = 0.0  # no denormals in the products below
        if dense:
            out[s : s + len(col), k] = col
            continue
        rows.append(np.arange(s, s + len(col)))
        cols.append(np.full(len(col), k))
        vals.append(col)
    if dense:
        return out
    return sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, m)
    )


class _KKT:
    """Block-elimination solver of coneqp's KKT systems for the cvxEDA QP (linear cone only).

    x = [q (n), d (2), l (nB)].  K = P + G' W^-2 G with G = [-A, 0, 0]:
    K11 = M'M + A' D A is pentadiagonal (banded Cholesky L); U = M'[C B]; K22 = [C B]'[C B] +
    gamma I_l; the Schur complement S = K22 - V'V with V = L^-1 U is (2 + nB) x (2 + nB).
    """

    def __init__(self, prob: _Problem):
        n = prob.n
        self.n = n
        self.ar = tuple(float(a) for a in prob.ar)
        CB = sp.hstack((sp.csc_matrix(prob.C), prob.B), format="csc")
        U = _apply_lower_t(_MA, CB.toarray())  # M'[C B]
        self.U = np.asfortranarray(U)
        nz = U != 0
        self.starts = nz.argmax(axis=0)
        self.ends = n - nz[::-1].argmax(axis=0)
        K22 = (CB.T @ CB).toarray()
        nc = prob.C.shape[1]
        K22[np.arange(nc, K22.shape[0]), np.arange(nc, K22.shape[0])] += prob.gamma
        self.K22 = K22
        self.mm_band = _lower_banded(_MA, np.ones(n))
        self.dense = n * U.shape[1] <= _DENSE_MAX
        self.failure = ""

    def factor(self, W: dict):
        """Factor K for coneqp's scaling W; return the solver of one KKT system."""
        d = np.asarray(W["d"]).ravel()
        dinv2 = 1.0 / (d * d)
        band = self.mm_band + _lower_banded(self.ar, dinv2)
        chol, info = lapack.dpbtrf(band, lower=1)
        if info != 0:  # coneqp stops cleanly (status 'unknown') on ArithmeticError
            self.failure = f"singular KKT matrix (banded block, info={info})"
            raise ArithmeticError(self.failure)
        if self.n <= _SHORT:  # one LAPACK call; a short column cannot crawl far in denormals
            V, info = lapack.dtbtrs(chol, self.U, uplo="L")
            V[np.abs(V) < _FLUSH] = 0.0
        else:
            V = _forward_truncated(chol, self.U, self.starts, self.ends, self.dense)
        Vt = V.T if self.dense else V.T.tocsr()
        VtV = Vt @ V
        S = self.K22 - (VtV if self.dense else VtV.toarray())
        S_chol, info = lapack.dpotrf(S, lower=1)
        if info == 0:
            def s_solve(b):
                return lapack.dpotrs(S_chol, b, lower=1)[0]
        else:
            # Near the optimum S = K22 - V'V can lose definiteness to cancellation; its LU
            # factorisation still gives a usable Newton step.
            S_lu = scipy.linalg.lu_factor(S, check_finite=False)
            if not np.all(np.abs(np.diag(S_lu[0])) > 1e-14 * np.abs(S).max()):
                self.failure = "singular KKT matrix (Schur block)"
                raise ArithmeticError(self.failure)

            def s_solve(b):
                return scipy.linalg.lu_solve(S_lu, b, check_finite=False)
        n, ar = self.n, self.ar

        def solve(x, y, z):
            xv = np.asarray(x)[:, 0]
            zv = np.asarray(z)[:, 0]
            r1 = xv[:n] - _apply_lower_t(ar, dinv2 * zv)
            w1 = lapack.dtbtrs(chol, r1[:, None], uplo="L")[0][:, 0]  # L^-1 r1
            u2 = s_solve(xv[n:] - Vt @ w1)
            u1 = lapack.dtbtrs(chol, (w1 - V @ u2)[:, None], uplo="L", trans="T")[0][:, 0]
            zv[:] = (-_apply_lower(ar, u1) - zv) / d
            xv[:n] = u1
            xv[n:] = u2

        return solve


def cvxeda(
    y: np.ndarray,
    fs: float,
    *,
    tau0: float = 2.0,
    tau1: float = 0.7,
    delta_knot: float = 10.0,
    alpha: float = 8e-4,
    gamma: float = 1e-2,
    options: dict | None = None,
) -> CvxEDAResult:
    """Decompose EDA `y` sampled at `fs` Hz into phasic, driver and tonic (cvxEDA, eq. 15).

    Parameters
    ----------
    y
        EDA samples, finite, at least 3; z-score them first, as the authors recommend.
    fs
        Sampling rate in Hz.
    tau0, tau1
        Slow and fast time constants (s) of the Bateman impulse response.
    delta_knot
        Spacing (s) of the tonic's cubic-spline knots.
    alpha
        Sparsity penalty on the driver.
    gamma
        Regularisation of the tonic's spline coefficients.
    options
        Solver options (iterations, tolerances).

    Returns
    -------
    CvxEDAResult
        phasic, driver, tonic and the residual in the reference's conventions, plus `status`,
        `converged` and solver `info`; a solver that stops early is reported there, never raised.
    """
    y = np.ascontiguousarray(y, dtype=float).ravel()
    n = y.size
    if n < 3:
        raise ValueError(f"cvxeda needs at least 3 samples, got {n}")
    if not np.all(np.isfinite(y)):
        raise ValueError("cvxeda input contains NaN or infinite values")
    if fs <= 0:
        raise ValueError(f"fs must be positive, got {fs}")
    prob = _build(n, fs, tau0, tau1, delta_knot, alpha, gamma)
    ar = tuple(float(a) for a in prob.ar)
    B, C = prob.B, prob.C
    nB, nC = B.shape[1], C.shape[1]

    colsum_a = np.full(n, ar[0] + ar[1] + ar[2])
    colsum_a[-2] = ar[0] + ar[1]
    colsum_a[-1] = ar[0]
    f = np.concatenate((alpha * colsum_a - _apply_lower_t(_MA, y.copy()), -(C.T @ y), -(B.T @ y)))
    Bt = B.T.tocsr()

    def p_op(x, out, alpha=1.0, beta=0.0):
        """out := alpha * P x + beta * out, P = [M C B]'[M C B] + gamma I_l."""
        xv = np.asarray(x)[:, 0]
        ov = np.asarray(out)[:, 0]
        q, d, l_ = xv[:n], xv[n : n + nC], xv[n + nC :]
        zx = _apply_lower(_MA, q.copy()) + C @ d + B @ l_
        px = np.concatenate((_apply_lower_t(_MA, zx.copy()), C.T @ zx, Bt @ zx + gamma * l_))
        ov[:] = alpha * px + (beta * ov if beta else 0.0)

    def g_op(x, out, alpha=1.0, beta=0.0, trans="N"):
        """out := alpha * G x + beta * out (or G'), G = [-A, 0, 0]."""
        xv = np.asarray(x)[:, 0]
        ov = np.asarray(out)[:, 0]
        if trans == "N":
            gx = -_apply_lower(ar, xv[:n].copy())
        else:
            gx = np.concatenate((-_apply_lower_t(ar, xv.copy()), np.zeros(nC + nB)))
        ov[:] = alpha * gx + (beta * ov if beta else 0.0)

    kkt = _KKT(prob)
    opts = dict(SOLVER_OPTIONS, show_progress=False)
    opts.update(options or {})
    try:
        res = cvxopt.solvers.coneqp(
            p_op, cvxopt.matrix(f), g_op, cvxopt.matrix(0.0, (n, 1)),
            kktsolver=kkt.factor, options=opts,
        )
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
        nan = np.full(n, np.nan)
        return CvxEDAResult(nan, nan.copy(), nan.copy(), np.full(nB, np.nan), np.full(nC, np.nan),
                            nan.copy(), float("nan"), f"error: {type(exc).__name__}: {exc}", 0)
    x = np.asarray(res["x"]).ravel()
    q, d, l_ = x[:n], x[n : n + nC], x[n + nC :]
    tonic = B @ l_ + C @ d
    phasic = _apply_lower(_MA, q.copy())
    driver = _apply_lower(ar, q.copy())
    objective = float(res["primal objective"]) + 0.5 * float(y @ y)
    info = {k: res.get(k) for k in ("gap", "relative gap", "primal infeasibility",
                                    "dual infeasibility")}
    if res["status"] != "optimal":
        info["reason"] = kkt.failure or (
            "iteration limit" if int(res.get("iterations", 0)) >= opts["maxiters"] else "stalled")
    return CvxEDAResult(
        phasic=phasic, driver=driver, tonic=tonic, spline=l_, drift=d,
        residual=y - phasic - tonic, objective=objective, status=str(res["status"]),
        iterations=int(res.get("iterations", 0)), info=info,
    )
