"""Oracle batteries for autopose.rotations: scipy's Rotation is the reference for every path.

Each conversion is checked in numpy and torch, float32 and float64, batch shapes (), (30,), (50, 60);
named edge cases; round trips with tolerances in rad; gradients against finite differences (float64).
"""
import itertools

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation, Slerp

from autopose.core import JointSet
from autopose.rotations import (
    axes_matrix, change_axes, euler_to_rotmat, forward_kinematics, rot6d_to_rotmat, rotmat_geodesic_angle,
    rotmat_slerp, rotmat_to_euler, rotmat_to_rot6d, rotmat_to_rotvec, rotmat_to_unitquat, rotvec_to_rotmat,
    rotvec_to_unitquat, unitquat_inverse, unitquat_multiply, unitquat_slerp, unitquat_swing_twist,
    unitquat_to_rotmat, unitquat_to_rotvec)

SHAPES = [(), (30,), (50, 60)]
DTYPES = [np.float32, np.float64]
BACKENDS = ["numpy", "torch"]
ATOL = {np.float32: 2e-6, np.float64: 1e-12}   # max abs difference of unit-scale outputs (matrix entries, rad)
TB_ORDERS = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]
PROPER_ORDERS = ["XYX", "XZX", "YXY", "YZY", "ZXZ", "ZYZ"]
ALL_ORDERS = TB_ORDERS + PROPER_ORDERS + [o.lower() for o in TB_ORDERS + PROPER_ORDERS]


def as_backend(a, backend, dtype):
    a = np.asarray(a, dtype=dtype)
    return torch.from_numpy(a.copy()) if backend == "torch" else a


def np64(x):
    return (x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)).astype(np.float64)


def check_type(out, backend, dtype, shape):
    "Output has the input's backend, float dtype and the expected shape."
    if backend == "torch":
        assert isinstance(out, torch.Tensor) and out.dtype == torch.from_numpy(np.zeros(0, dtype)).dtype
    else:
        assert isinstance(out, np.ndarray) and out.dtype == dtype
    assert tuple(out.shape) == shape, (tuple(out.shape), shape)


def quat_err(a, b):
    "Max difference of quaternions up to sign."
    a, b = np64(a), np64(b)
    assert a.shape == b.shape
    return np.minimum(np.abs(a - b).max(-1), np.abs(a + b).max(-1)).max(initial=0)


def random_rotations(seed, shape):
    n = int(np.prod(shape, dtype=int))
    return Rotation.random(n, random_state=np.random.default_rng(seed)), n


# ---------------------------------------------------------------- conversions vs scipy
PATHS = ["rotvec->unitquat", "unitquat->rotvec", "rotvec->rotmat", "rotmat->rotvec", "unitquat->rotmat",
         "rotmat->unitquat", "rotmat->rot6d->rotmat", "rotvec(>pi)->rotmat", "rotvec(>pi)->unitquat->rotvec"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_conversion_matches_scipy(path, shape, dtype, backend):
    r, n = random_rotations(10 * PATHS.index(path) + len(shape), shape)
    rv, q, R = r.as_rotvec(), r.as_quat(), r.as_matrix()
    # scipy itself sees the dtype-rounded input, so that float32 compares like with like
    B = lambda a, tail: as_backend(a.reshape(shape + tail), backend, dtype)
    S = lambda a, tail: np.asarray(a, np.float64).reshape(shape + tail)
    tol = ATOL[dtype]
    if path == "rotvec->unitquat":
        x = B(rv, (3,)); out = rotvec_to_unitquat(x); check_type(out, backend, dtype, shape + (4,))
        assert quat_err(out, S(Rotation.from_rotvec(np64(x).reshape(-1, 3)).as_quat(), (4,))) <= tol
    elif path == "unitquat->rotvec":
        x = B(q, (4,)); out = unitquat_to_rotvec(x); check_type(out, backend, dtype, shape + (3,))
        np.testing.assert_allclose(np64(out), S(Rotation.from_quat(np64(x).reshape(-1, 4)).as_rotvec(), (3,)), atol=tol * 5)
        np.testing.assert_allclose(np64(unitquat_to_rotvec(-x)), np64(out), atol=tol * 5)    # q and -q
    elif path == "rotvec->rotmat":
        x = B(rv, (3,)); out = rotvec_to_rotmat(x); check_type(out, backend, dtype, shape + (3, 3))
        np.testing.assert_allclose(np64(out), S(Rotation.from_rotvec(np64(x).reshape(-1, 3)).as_matrix(), (3, 3)), atol=tol)
    elif path == "rotmat->rotvec":
        x = B(R, (3, 3)); out = rotmat_to_rotvec(x); check_type(out, backend, dtype, shape + (3,))
        np.testing.assert_allclose(np64(out), S(rv, (3,)), atol=tol * 5)
    elif path == "unitquat->rotmat":
        x = B(q, (4,)); out = unitquat_to_rotmat(x); check_type(out, backend, dtype, shape + (3, 3))
        np.testing.assert_allclose(np64(out), S(Rotation.from_quat(np64(x).reshape(-1, 4)).as_matrix(), (3, 3)), atol=tol)
        np.testing.assert_allclose(np64(unitquat_to_rotmat(-x)), np64(out), atol=tol)          # q and -q
    elif path == "rotmat->unitquat":
        x = B(R, (3, 3)); out = rotmat_to_unitquat(x); check_type(out, backend, dtype, shape + (4,))
        assert quat_err(out, S(q, (4,))) <= tol
        assert (np64(out)[..., 3] >= 0).all()                                                   # w >= 0 convention
    elif path == "rotmat->rot6d->rotmat":
        x = B(R, (3, 3)); six = rotmat_to_rot6d(x); check_type(six, backend, dtype, shape + (6,))
        np.testing.assert_array_equal(np64(six), np.concatenate([np64(x)[..., :, 0], np64(x)[..., :, 1]], -1))  # columns
        out = rot6d_to_rotmat(six); check_type(out, backend, dtype, shape + (3, 3))
        np.testing.assert_allclose(np64(out), S(R, (3, 3)), atol=tol)
    elif path == "rotvec(>pi)->rotmat":
        long = rv * (1 + 2 * np.pi / np.linalg.norm(rv, axis=-1, keepdims=True))             # angle + 2π: same rotation
        x = B(long, (3,)); out = rotvec_to_rotmat(x)
        np.testing.assert_allclose(np64(out), S(R, (3, 3)), atol=tol * 20)
    elif path == "rotvec(>pi)->unitquat->rotvec":
        axis = rv / np.linalg.norm(rv, axis=-1, keepdims=True)
        theta = np.random.default_rng(1).uniform(np.pi + 0.01, 2 * np.pi - 0.01, (n, 1))
        x = B(axis * theta, (3,)); out = unitquat_to_rotvec(rotvec_to_unitquat(x))               # shortest equivalent
        np.testing.assert_allclose(np64(out), S(axis * (theta - 2 * np.pi), (3,)), atol=tol * 20)
        assert (np.linalg.norm(np64(out), axis=-1) <= np.pi + 1e-6).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_and_list_inputs(dtype, backend):
    "Integer input becomes float64 (numpy) or the default dtype (torch); lists go through numpy."
    assert rotvec_to_rotmat([0, 0, 0]).dtype == np.float64
    assert rotvec_to_rotmat(torch.tensor([0, 0, 0])).dtype == torch.get_default_dtype()
    assert rotvec_to_rotmat(np.zeros(3, np.int32)).dtype == np.float64


# ---------------------------------------------------------------- named edge cases
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_identity(backend, dtype):
    """theta = 0 -> identity, exactly, in every representation"""
    z = as_backend(np.zeros((4, 3)), backend, dtype)
    np.testing.assert_array_equal(np64(rotvec_to_rotmat(z)), np.broadcast_to(np.eye(3), (4, 3, 3)))
    np.testing.assert_array_equal(np64(rotvec_to_unitquat(z)), np.tile([0, 0, 0, 1.0], (4, 1)))
    eye = as_backend(np.broadcast_to(np.eye(3), (4, 3, 3)), backend, dtype)
    np.testing.assert_array_equal(np64(rotmat_to_rotvec(eye)), 0)
    np.testing.assert_array_equal(np64(rotmat_to_unitquat(eye)), np.tile([0, 0, 0, 1.0], (4, 1)))
    np.testing.assert_array_equal(np64(unitquat_to_rotvec(as_backend(np.tile([0, 0, 0, 1.0], (4, 1)), backend, dtype))), 0)
    np.testing.assert_array_equal(np64(rotmat_geodesic_angle(eye, eye)), 0)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_half_turn(backend, dtype):
    """theta = pi -> R = 2 x x^T - I (exact formula); rotvec back is +-pi x"""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 3)); x /= np.linalg.norm(x, axis=-1, keepdims=True)
    x = np64(as_backend(x, "numpy", dtype))
    want = 2 * x[:, :, None] * x[:, None, :] - np.eye(3)
    tol = {np.float32: 1e-6, np.float64: 1e-15}[dtype]
    np.testing.assert_allclose(np64(rotvec_to_rotmat(as_backend(np.pi * x, backend, dtype))), want, atol=tol * 2)
    np.testing.assert_allclose(np64(unitquat_to_rotmat(as_backend(np.c_[x, np.zeros(200)], backend, dtype))), want, atol=tol * 2)
    back = np64(rotmat_to_rotvec(as_backend(want, backend, dtype)))
    err = np.minimum(np.abs(back - np.pi * x).max(-1), np.abs(back + np.pi * x).max(-1))
    assert err.max() < {np.float32: 2e-6, np.float64: 1e-14}[dtype]
    np.testing.assert_allclose(np.linalg.norm(back, axis=-1), np.pi, atol=tol * 10)
    np.testing.assert_allclose(np64(rotmat_geodesic_angle(as_backend(np.eye(3), backend, dtype), as_backend(want, backend, dtype))), np.pi, atol=tol * 10)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_near_zero(backend, dtype):
    """tiny angles (1e-8): rotvec -> mtx -> rotvec and rotvec -> quat -> rotvec keep the vector"""
    rng = np.random.default_rng(8)
    v = rng.normal(size=(100, 3)) * 1e-8
    x = as_backend(v, backend, dtype)
    np.testing.assert_allclose(np64(rotvec_to_rotmat(x)), Rotation.from_rotvec(np64(x)).as_matrix(), atol=1e-15)
    np.testing.assert_allclose(np64(rotmat_to_rotvec(rotvec_to_rotmat(x))), np64(x), rtol=1e-6 if dtype == np.float32 else 1e-9, atol=1e-15)
    np.testing.assert_allclose(np64(unitquat_to_rotvec(rotvec_to_unitquat(x))), np64(x), rtol=1e-6, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_quaternion_sign(backend):
    """q and -q: same matrix, same shortest rotvec, same slerp path, same swing-twist rotations"""
    r, _ = random_rotations(9, (40,))
    q = as_backend(r.as_quat(), backend, np.float64)
    np.testing.assert_allclose(np64(unitquat_to_rotmat(-q)), r.as_matrix(), atol=1e-15)
    np.testing.assert_allclose(np64(unitquat_to_rotvec(-q)), r.as_rotvec(), atol=1e-14)
    s1, t1 = unitquat_swing_twist(q, as_backend([0, 1.0, 0], backend, np.float64))
    s2, t2 = unitquat_swing_twist(-q, as_backend([0, 1.0, 0], backend, np.float64))
    assert quat_err(s1, s2) < 1e-15 and quat_err(t1, t2) < 1e-15


# ---------------------------------------------------------------- products, inverses, angles
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_multiply_inverse_angle(backend, dtype, shape):
    """quat product -> mtx product; inverse; geodesic angle vs scipy magnitude"""
    p, n = random_rotations(10, shape); q, _ = random_rotations(11, shape)
    P, Q = as_backend(p.as_quat().reshape(shape + (4,)), backend, dtype), as_backend(q.as_quat().reshape(shape + (4,)), backend, dtype)
    pq = unitquat_multiply(P, Q); check_type(pq, backend, dtype, shape + (4,))
    want = (Rotation.from_quat(np64(P).reshape(-1, 4)) * Rotation.from_quat(np64(Q).reshape(-1, 4))).as_matrix()
    np.testing.assert_allclose(np64(unitquat_to_rotmat(pq)).reshape(-1, 3, 3), want, atol=ATOL[dtype])
    ident = np64(unitquat_multiply(P, unitquat_inverse(P)))
    np.testing.assert_allclose(np.abs(ident[..., 3]), 1, atol=ATOL[dtype])
    Rp, Rq = unitquat_to_rotmat(P), unitquat_to_rotmat(Q)
    ang = rotmat_geodesic_angle(Rp, Rq); check_type(ang, backend, dtype, shape)
    want_ang = (Rotation.from_matrix(np64(Rp).reshape(-1, 3, 3)).inv() * Rotation.from_matrix(np64(Rq).reshape(-1, 3, 3))).magnitude()
    np.testing.assert_allclose(np64(ang).reshape(-1), want_ang, atol=ATOL[dtype] * 10)


# ---------------------------------------------------------------- 6D
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_rot6d_gram_schmidt(backend, dtype):
    """any 6D vector with non-parallel halves -> a rotation whose first column is a/|a|; numpy == torch"""
    rng = np.random.default_rng(12)
    x = as_backend(rng.normal(size=(5, 7, 6)), backend, dtype)
    R = np64(rot6d_to_rotmat(x))
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=ATOL[dtype] * 10)
    np.testing.assert_allclose(np.linalg.det(R), 1, atol=ATOL[dtype] * 10)
    a = np64(x)[..., :3]
    np.testing.assert_allclose(R[..., :, 0], a / np.linalg.norm(a, axis=-1, keepdims=True), atol=ATOL[dtype] * 10)
    other = rot6d_to_rotmat(torch.from_numpy(np64(x)) if backend == "numpy" else np64(x))
    np.testing.assert_allclose(np64(other), R, atol=ATOL[dtype] * 10)


# ---------------------------------------------------------------- Euler
@pytest.mark.parametrize("order", ALL_ORDERS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_euler_matches_scipy(order, backend, dtype):
    """euler -> mtx and mtx -> euler vs scipy; euler -> mtx -> euler round trip (rad), degrees"""
    rng = np.random.default_rng(13)
    proper = order[0].lower() == order[2].lower()
    mid = rng.uniform(0.05, np.pi - 0.05, 300) if proper else rng.uniform(-np.pi / 2 + 0.05, np.pi / 2 - 0.05, 300)
    ang = np.stack([rng.uniform(-3.1, 3.1, 300), mid, rng.uniform(-3.1, 3.1, 300)], -1).reshape(20, 15, 3)
    a = as_backend(ang, backend, dtype)
    R = euler_to_rotmat(a, order); check_type(R, backend, dtype, (20, 15, 3, 3))
    want = Rotation.from_euler(order, np64(a).reshape(-1, 3)).as_matrix().reshape(20, 15, 3, 3)
    np.testing.assert_allclose(np64(R), want, atol=ATOL[dtype])
    back = rotmat_to_euler(R, order); check_type(back, backend, dtype, (20, 15, 3))
    # away from gimbal lock (|cos| >= sin 0.05) the angles come back: eps / 0.05 rad
    np.testing.assert_allclose(np64(back), np64(a), atol={np.float32: 1e-4, np.float64: 1e-12}[dtype])
    scipy_back = Rotation.from_matrix(np64(R).reshape(-1, 3, 3)).as_euler(order).reshape(20, 15, 3)
    np.testing.assert_allclose(np64(back), scipy_back, atol={np.float32: 1e-4, np.float64: 1e-12}[dtype])
    np.testing.assert_allclose(np64(euler_to_rotmat(as_backend(np.degrees(ang), backend, dtype), order, degrees=True)), want, atol=ATOL[dtype] * 50)
    np.testing.assert_allclose(np64(rotmat_to_euler(R, order, degrees=True)), np.degrees(np64(a)), atol={np.float32: 1e-2, np.float64: 1e-10}[dtype])


@pytest.mark.parametrize("order", ["ZYX", "xyz", "ZXZ", "yzy"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_euler_gimbal_lock(order, backend):
    """at gimbal lock the third angle is 0 and the matrix is reproduced"""
    proper = order[0].lower() == order[2].lower()
    ang = np.array([[0.7, 0.0 if proper else np.pi / 2, 0.3], [-0.4, np.pi if proper else -np.pi / 2, 0.2]])
    R = euler_to_rotmat(as_backend(ang, backend, np.float64), order)
    back = rotmat_to_euler(R, order)
    np.testing.assert_allclose(np64(back)[:, 2], 0, atol=1e-12)
    np.testing.assert_allclose(np64(euler_to_rotmat(back, order)), np64(R), atol=1e-12)


def test_euler_intrinsic_is_reversed_extrinsic():
    rng = np.random.default_rng(14)
    a = rng.uniform(-1, 1, (10, 3))
    for o in TB_ORDERS + PROPER_ORDERS:
        np.testing.assert_allclose(euler_to_rotmat(a, o), euler_to_rotmat(a[:, ::-1], o.lower()[::-1]), atol=1e-15)


# ---------------------------------------------------------------- slerp
def scipy_slerp(r0, r1, ts):
    return np.stack([Slerp([0, 1], Rotation.concatenate([a, b]))(t).as_matrix() for a, b, t in zip(r0, r1, ts)])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_slerp_matches_scipy(backend, dtype):
    """slerp vs scipy Slerp; q1 vs -q1; exact endpoints; midpoint = half the angle; rotmat_slerp too"""
    r0, _ = random_rotations(15, (60,)); r1, _ = random_rotations(16, (60,))
    ts = np.random.default_rng(17).uniform(0, 1, 60)
    Q0, Q1 = as_backend(r0.as_quat(), backend, dtype), as_backend(r1.as_quat(), backend, dtype)
    R0, R1 = as_backend(r0.as_matrix(), backend, dtype), as_backend(r1.as_matrix(), backend, dtype)
    T = as_backend(ts, backend, dtype)
    want = scipy_slerp(Rotation.from_quat(np64(Q0)), Rotation.from_quat(np64(Q1)), np64(T))
    tol = {np.float32: 5e-6, np.float64: 1e-13}[dtype]
    for q1 in (Q1, -Q1):
        out = unitquat_slerp(Q0, q1, T); check_type(out, backend, dtype, (60, 4))
        np.testing.assert_allclose(np64(unitquat_to_rotmat(out)), want, atol=tol)
    out = rotmat_slerp(R0, R1, T); check_type(out, backend, dtype, (60, 3, 3))
    np.testing.assert_allclose(np64(out), scipy_slerp(Rotation.from_matrix(np64(R0)), Rotation.from_matrix(np64(R1)), np64(T)), atol=tol)
    ext = np.r_[-0.5, 1.5, 2.0, -1.0]                                          # extrapolation: r0 (r0⁻¹ r1)^t
    want_ext = np.stack([(a * (a.inv() * b) ** t).as_matrix() for a, b, t in zip(r0, r1, np.tile(ext, 15))])
    out = unitquat_slerp(Q0, Q1, as_backend(np.tile(ext, 15), backend, dtype))
    np.testing.assert_allclose(np64(unitquat_to_rotmat(out)), want_ext, atol=tol * 10)
    np.testing.assert_array_equal(np64(unitquat_slerp(Q0, Q1, 0.0)), np64(Q0))
    end = np64(unitquat_slerp(Q0, -Q1, 1.0))
    np.testing.assert_array_equal(np.abs(end), np.abs(np64(Q1)))
    np.testing.assert_array_equal(end, np64(unitquat_slerp(Q0, Q1, 1.0)))           # sign: q0's hemisphere, either way
    np.testing.assert_allclose(end, np64(unitquat_slerp(Q0, Q1, 1 - 1e-6)), atol=1e-5)  # continuous, sign included
    np.testing.assert_array_equal(np64(rotmat_slerp(R0, R1, 0.0)), np64(R0))
    np.testing.assert_array_equal(np64(rotmat_slerp(R0, R1, 1.0)), np64(R1))
    full = np64(rotmat_geodesic_angle(R0, R1))
    half = np64(rotmat_geodesic_angle(R0, unitquat_to_rotmat(unitquat_slerp(Q0, Q1, 0.5))))
    np.testing.assert_allclose(half, full / 2, atol=tol * 10)
    np.testing.assert_allclose(np64(rotmat_geodesic_angle(R0, rotmat_slerp(R0, R1, 0.5))), full / 2, atol=tol * 10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_slerp_broadcast_and_special_pairs(backend):
    """t broadcasts: scalar, per pair, (T, 1) sweep; identical and near-antipodal pairs"""
    r0, _ = random_rotations(18, (5, 6)); r1, _ = random_rotations(19, (5, 6))
    Q0 = as_backend(r0.as_quat().reshape(5, 6, 4), backend, np.float64)
    Q1 = as_backend(r1.as_quat().reshape(5, 6, 4), backend, np.float64)
    assert tuple(unitquat_slerp(Q0, Q1, 0.3).shape) == (5, 6, 4)
    assert tuple(unitquat_slerp(Q0, Q1, as_backend(np.linspace(0, 1, 6), backend, np.float64)).shape) == (5, 6, 4)
    sweep = unitquat_slerp(Q0, Q1, as_backend(np.linspace(0, 1, 7), backend, np.float64)[:, None, None])
    assert tuple(sweep.shape) == (7, 5, 6, 4)
    np.testing.assert_allclose(np64(sweep[3]), np64(unitquat_slerp(Q0, Q1, 0.5)), atol=1e-15)
    R = unitquat_slerp(Q0[0], Q0[0], 0.4)                                         # identical pair
    np.testing.assert_allclose(np64(R), np64(Q0[0]), atol=1e-15)
    # nearly opposite rotations (178°) still go the short way
    a = as_backend([0, 0, 0, 1.0], backend, np.float64)
    b = as_backend(Rotation.from_rotvec([0, 0, np.radians(178)]).as_quat(), backend, np.float64)
    np.testing.assert_allclose(np64(unitquat_to_rotvec(unitquat_slerp(a, b, 0.5))), [0, 0, np.radians(89)], atol=1e-14)
    np.testing.assert_allclose(np64(unitquat_to_rotvec(unitquat_slerp(a, -b, 0.5))), [0, 0, np.radians(89)], atol=1e-14)


# ---------------------------------------------------------------- swing-twist
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_swing_twist(backend, dtype, shape):
    """swing*twist = q (sign included); twist axis // axis; swing axis _|_ axis; swing angle <= pi"""
    r, n = random_rotations(20, shape)
    rng = np.random.default_rng(21)
    ax = rng.normal(size=shape + (3,)) * 2.5                                        # not unit: normalised inside
    q = as_backend(r.as_quat().reshape(shape + (4,)), backend, dtype)
    swing, twist = unitquat_swing_twist(q, as_backend(ax, backend, dtype))
    check_type(swing, backend, dtype, shape + (4,)); check_type(twist, backend, dtype, shape + (4,))
    tol = {np.float32: 2e-6, np.float64: 1e-14}[dtype]
    np.testing.assert_allclose(np64(unitquat_multiply(swing, twist)), np64(q), atol=tol)
    u = ax / np.linalg.norm(ax, axis=-1, keepdims=True)
    np.testing.assert_allclose(np.cross(np64(twist)[..., :3], u), 0, atol=tol)
    np.testing.assert_allclose((np64(swing)[..., :3] * u).sum(-1), 0, atol=tol)
    assert (np64(swing)[..., 3] >= 0).all()
    np.testing.assert_allclose(np.linalg.norm(np64(twist), axis=-1), 1, atol=tol)


@pytest.mark.parametrize("backend", BACKENDS)
def test_swing_twist_degenerate_and_pure(backend):
    """projection zero (half turn about a perpendicular axis) -> twist = identity; pure twist -> swing = identity"""
    f = lambda a: as_backend(a, backend, np.float64)
    for axis in ([1.0, 0, 0], [0, 1.0, 0], [0.6, 0.8, 0]):
        perp = np.cross(axis, [0, 0, 1.0]); perp /= np.linalg.norm(perp)
        q = np.r_[perp, 0.0]                                                         # 180° about perp
        s, t = unitquat_swing_twist(f(q), f(axis))
        np.testing.assert_array_equal(np64(t), [0, 0, 0, 1.0]); np.testing.assert_allclose(np64(s), q, atol=1e-16)
    q = Rotation.from_rotvec(0.7 * np.array([0.6, 0.8, 0])).as_quat()
    s, t = unitquat_swing_twist(f(q), f([0.6, 0.8, 0]))
    np.testing.assert_allclose(np64(t), q, atol=1e-15); np.testing.assert_allclose(np64(s), [0, 0, 0, 1.0], atol=1e-15)
    s, t = unitquat_swing_twist(f(np.tile(q, (4, 1))), f(np.eye(3)[[0, 1, 2, 2]]))   # per-item axes
    assert tuple(s.shape) == (4, 4)


# ---------------------------------------------------------------- gradients
def gc(fn, *xs):
    xs = [torch.as_tensor(x, dtype=torch.float64).requires_grad_() for x in xs]
    assert torch.autograd.gradcheck(fn, xs, eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("scale", [0.0, 1e-8, 1e-3, 1.0, 3.0])
def test_gradcheck_rotvec_to_rotmat(scale):
    v = np.array([[0.3, -0.5, 0.8]]) * scale
    gc(rotvec_to_rotmat, v)
    gc(rotvec_to_unitquat, v)


def test_gradcheck_rot6d_and_others():
    rng = np.random.default_rng(22)
    gc(rot6d_to_rotmat, rng.normal(size=(4, 6)))
    R = Rotation.random(4, random_state=rng).as_matrix()
    gc(rotmat_to_rotvec, R)
    gc(rotmat_to_unitquat, R)
    gc(lambda a: euler_to_rotmat(a, "ZYX"), rng.uniform(-1, 1, (4, 3)))
    gc(lambda a: rotmat_to_euler(euler_to_rotmat(a, "xzy"), "xzy"), rng.uniform(-1, 1, (4, 3)))
    q0, q1 = Rotation.random(4, random_state=rng).as_quat(), Rotation.random(4, random_state=rng).as_quat()
    gc(lambda a, b, t: unitquat_slerp(a, b, t), q0, q1, rng.uniform(0.1, 0.9, 4))
    gc(lambda a, b: rotmat_slerp(a, b, 0.3), R, Rotation.random(4, random_state=rng).as_matrix())
    gc(lambda q, ax: unitquat_swing_twist(q, ax), q0, rng.normal(size=(4, 3)))
    gc(rotmat_geodesic_angle, R, Rotation.random(4, random_state=rng).as_matrix())


def test_gradcheck_forward_kinematics():
    rng = np.random.default_rng(23)
    parents = [4, 0, 1, 4, -1, 3, 5]                                              # unordered
    L = Rotation.random(2 * 7, random_state=rng).as_matrix().reshape(2, 7, 3, 3)
    gc(lambda L, o, t: forward_kinematics(L, o, parents, t), L, rng.normal(size=(7, 3)), rng.normal(size=(2, 3)))
    gc(lambda v, o: forward_kinematics(rotvec_to_rotmat(v), o, parents), rng.normal(size=(2, 7, 3)), rng.normal(size=(2, 7, 3)))


@pytest.mark.parametrize("theta", [0.0, np.pi], ids=["0", "pi"])
def test_gradients_finite_at_0_and_pi(theta):
    """backward through every conversion is finite at the identity and at a half turn"""
    axis = np.array([0.48, 0.6, 0.64])
    v = torch.tensor(axis * theta, requires_grad=True)
    q = torch.tensor(np.r_[axis * np.sin(theta / 2), np.cos(theta / 2)], requires_grad=True)
    R = torch.tensor(Rotation.from_rotvec(axis * theta).as_matrix(), requires_grad=True)
    I = torch.eye(3, dtype=torch.float64)
    for x, f in [(v, rotvec_to_rotmat), (v, rotvec_to_unitquat), (q, unitquat_to_rotvec), (q, unitquat_to_rotmat),
                 (R, rotmat_to_rotvec), (R, rotmat_to_unitquat), (R, rotmat_to_rot6d),
                 (R, lambda R: rotmat_to_euler(R, "ZYX")), (R, lambda R: rotmat_geodesic_angle(I, R)),
                 (q, lambda q: unitquat_slerp(q, q, 0.5)), (R, lambda R: rotmat_slerp(R, R, 0.5)),
                 (q, lambda q: unitquat_swing_twist(q, torch.tensor([0.0, 0, 1], dtype=torch.float64))[0]),
                 (q, lambda q: unitquat_swing_twist(q, torch.tensor([0.6, -0.48, 0.0], dtype=torch.float64))[0])]:
        x.grad = None
        f(x).sum().backward()
        assert torch.isfinite(x.grad).all(), (f, x.grad)


# ---------------------------------------------------------------- forward kinematics
def naive_fk(local, offsets, parents, trans=None):
    "One frame, one joint at a time, recursing to the root: the definition."
    def glob(j): return local[j] if parents[j] < 0 else glob(parents[j]) @ local[j]
    def pos(j):
        if parents[j] < 0: return offsets[j] + (0 if trans is None else trans)
        return pos(parents[j]) + glob(parents[j]) @ offsets[j]
    J = len(parents)
    return np.stack([pos(j) for j in range(J)]), np.stack([glob(j) for j in range(J)])


def random_tree(rng, J):
    "A random tree on J joints, relabelled by a random permutation (parents not before children)."
    par = [-1] + [int(rng.integers(0, j)) for j in range(1, J)]
    perm = rng.permutation(J); inv = np.argsort(perm)                          # new label of old joint k: inv[k]
    return [-1 if par[perm[i]] < 0 else int(inv[par[perm[i]]]) for i in range(J)]


@pytest.mark.parametrize("shape", [(), (7,), (3, 4)], ids=str)
@pytest.mark.parametrize("J", [1, 5, 24])
def test_fk_matches_naive(shape, J):
    rng = np.random.default_rng(J)
    parents = random_tree(rng, J)
    n = int(np.prod(shape, dtype=int))
    L = Rotation.random(n * J, random_state=rng).as_matrix().reshape(shape + (J, 3, 3))
    off, tr = rng.normal(size=(J, 3)), rng.normal(size=shape + (3,))
    P, G = forward_kinematics(L, off, parents, tr)
    assert P.shape == shape + (J, 3) and G.shape == shape + (J, 3, 3)
    for i in np.ndindex(*shape):
        p, g = naive_fk(L[i], off, parents, tr[i])
        np.testing.assert_allclose(P[i], p, atol=1e-12); np.testing.assert_allclose(G[i], g, atol=1e-12)
    Pt, Gt = forward_kinematics(torch.from_numpy(L), off, parents, torch.from_numpy(tr))   # numpy offsets to torch
    assert Pt.dtype == torch.float64
    np.testing.assert_allclose(Pt.numpy(), P, atol=1e-12); np.testing.assert_allclose(Gt.numpy(), G, atol=1e-12)
    P32, G32 = forward_kinematics(L.astype(np.float32), off.astype(np.float32), parents, tr.astype(np.float32))
    assert P32.dtype == np.float32 and G32.dtype == np.float32
    np.testing.assert_allclose(P32, P, atol=1e-4)


def test_fk_broadcast_and_jointset():
    rng = np.random.default_rng(24)
    parents = [-1, 0, 1, 0, 3]
    js = JointSet("fk5", list("abcde"), parents)
    L = Rotation.random(6 * 5, random_state=rng).as_matrix().reshape(6, 5, 3, 3)
    off = rng.normal(size=(2, 1, 5, 3))                                           # offsets batch broadcasts
    P, G = forward_kinematics(L, off, js)
    assert P.shape == (2, 6, 5, 3) and G.shape == (2, 6, 5, 3, 3)
    p, _ = naive_fk(L[4], off[1, 0], parents)
    np.testing.assert_allclose(P[1, 4], p, atol=1e-13)
    P0, G0 = forward_kinematics(L, off[0, 0], parents)                           # no translation
    np.testing.assert_allclose(P0[:, 0], np.broadcast_to(off[0, 0, 0], (6, 3)), atol=0)   # the root stays at its offset
    np.testing.assert_allclose(G0[:, 0], L[:, 0], atol=0)
    Lt = torch.from_numpy(L).requires_grad_()
    P_t, _ = forward_kinematics(Lt, torch.from_numpy(off[0, 0]), parents)
    P_t.sum().backward()
    assert torch.isfinite(Lt.grad).all()
    Lc = L.copy(); forward_kinematics(Lc, off[0, 0], parents)
    np.testing.assert_array_equal(Lc, L)                                           # inputs are not modified


def test_fk_chain_90():
    """hand-checkable: two 1 m bones up y, 90° about z at root and at j1 -> (-1, 0, 0), (-1, -1, 0)"""
    Rz = Rotation.from_rotvec([0, 0, np.pi / 2]).as_matrix()
    L = np.stack([Rz, Rz, np.eye(3)])
    for lib in (np.asarray, torch.from_numpy):
        P, _ = forward_kinematics(lib(L), lib(np.array([[0, 0, 0], [0, 1.0, 0], [0, 1.0, 0]])), [-1, 0, 1])
        np.testing.assert_allclose(np64(P), [[0, 0, 0], [-1, 0, 0], [-1, -1, 0]], atol=1e-15)
        P, _ = forward_kinematics(lib(L[[2, 1, 0]]), lib(np.array([[0, 1.0, 0], [0, 1.0, 0], [0, 0, 0]])), [1, 2, -1])
        np.testing.assert_allclose(np64(P), [[-1, -1, 0], [-1, 0, 0], [0, 0, 0]], atol=1e-15)   # reversed order


# ---------------------------------------------------------------- axes
LETTERS = [("L", "R"), ("U", "D"), ("F", "B")]
ALL_CODES = ["".join(c) for perm in itertools.permutations(range(3)) for c in itertools.product(*[LETTERS[i] for i in perm])]


def test_axes_all_codes():
    assert len(ALL_CODES) == 48
    proper = [c for c in ALL_CODES if np.linalg.det(axes_matrix(c, allow_reflection=True)) > 0]
    assert len(proper) == 24 and "LUF" in proper and "LDB" in proper and "RUF" not in proper
    for a in ALL_CODES:
        M = axes_matrix(a, allow_reflection=True)
        assert set(np.abs(M).sum(0)) == {1.0} and set(np.abs(M).sum(1)) == {1.0}      # signed permutation
        np.testing.assert_array_equal(M.T @ M, np.eye(3))
        if a not in proper:
            with pytest.raises(ValueError, match="changes handedness"): axes_matrix(a)
    for a, b in itertools.product(proper, proper):
        M = axes_matrix(a, b)
        assert np.linalg.det(M) == 1.0
        np.testing.assert_array_equal(axes_matrix(b, a) @ M, np.eye(3))
        np.testing.assert_array_equal(M, axes_matrix("LUF", b) @ axes_matrix(a))


def test_axes_meaning():
    """each letter names where the axis points: a point 1 m to the subject's left, up, forward"""
    left, up, fwd = np.eye(3)                                                      # in LUF
    np.testing.assert_array_equal(axes_matrix("LUF", "RDF") @ left, [-1, 0, 0])
    np.testing.assert_array_equal(axes_matrix("LUF", "FLU") @ fwd, [1, 0, 0])     # +x points forward
    np.testing.assert_array_equal(axes_matrix("LUF", "FLU") @ up, [0, 0, 1])
    np.testing.assert_array_equal(axes_matrix("LDB"), np.diag([1.0, -1, -1]))     # OpenCV camera facing the subject
    pts = np.random.default_rng(25).normal(size=(4, 5, 3))
    for lib, dt in [(np.asarray, np.float64), (torch.from_numpy, torch.float32)]:
        out = change_axes(lib(pts.astype(np.float32) if dt == torch.float32 else pts), "LDB")
        assert out.dtype == dt and tuple(out.shape) == (4, 5, 3)
        np.testing.assert_allclose(np64(out), pts * [1, -1, -1], atol=1e-6)
    np.testing.assert_array_equal(change_axes(change_axes(pts, "UFL", "BRU"), "BRU", "UFL"), pts)


# ---------------------------------------------------------------- error contracts
SHAPE_ERRORS = [
    (lambda: rotvec_to_unitquat(np.zeros((2, 4))), "v: expected shape (..., 3), got (2, 4)"),
    (lambda: rotvec_to_rotmat(torch.zeros(3, 3)[..., :2]), "v: expected shape (..., 3), got (3, 2)"),
    (lambda: unitquat_to_rotvec(np.zeros(3)), "q: expected shape (..., 4), got (3,)"),
    (lambda: unitquat_to_rotmat(np.zeros((5, 3))), "q: expected shape (..., 4), got (5, 3)"),
    (lambda: rotmat_to_rotvec(np.zeros((3, 4))), "R: expected shape (..., 3, 3), got (3, 4)"),
    (lambda: rotmat_to_unitquat(np.zeros(9)), "R: expected shape (..., 3, 3), got (9,)"),
    (lambda: rotmat_to_rot6d(np.zeros((2, 3))), "R: expected shape (..., 3, 3), got (2, 3)"),
    (lambda: rot6d_to_rotmat(np.zeros((2, 3))), "x: expected shape (..., 6), got (2, 3)"),
    (lambda: euler_to_rotmat(np.zeros(4), "XYZ"), "angles: expected shape (..., 3), got (4,)"),
    (lambda: rotmat_to_euler(np.zeros((3, 2)), "XYZ"), "R: expected shape (..., 3, 3), got (3, 2)"),
    (lambda: unitquat_slerp(np.zeros(3), np.zeros(4), 0.5), "q0: expected shape (..., 4), got (3,)"),
    (lambda: unitquat_slerp(np.zeros(4), np.zeros(3), 0.5), "q1: expected shape (..., 4), got (3,)"),
    (lambda: unitquat_slerp(np.zeros((2, 4)), np.zeros((2, 4)), np.zeros(5)), "do not broadcast"),
    (lambda: rotmat_slerp(np.eye(3), np.zeros(3), 0.5), "R1: expected shape (..., 3, 3), got (3,)"),
    (lambda: unitquat_swing_twist(np.zeros(3), np.zeros(3)), "q: expected shape (..., 4), got (3,)"),
    (lambda: unitquat_swing_twist(np.zeros((2, 4)), np.ones((3, 3))), "q[..., :3], axis: shapes (2, 3), (3, 3) do not broadcast"),
    (lambda: unitquat_multiply(np.zeros(4), np.zeros(3)), "q: expected shape (..., 4), got (3,)"),
    (lambda: unitquat_inverse(np.zeros(3)), "q: expected shape (..., 4), got (3,)"),
    (lambda: rotmat_geodesic_angle(np.eye(3), np.zeros(3)), "R1: expected shape (..., 3, 3), got (3,)"),
    (lambda: forward_kinematics(np.zeros((4, 3)), np.zeros((4, 3)), [-1, 0, 1, 2]), "local_rotmats: expected shape (..., J, 3, 3), got (4, 3)"),
    (lambda: forward_kinematics(np.zeros((4, 3, 3)), np.zeros((4, 2)), [-1, 0, 1, 2]), "offsets: expected shape (..., J, 3), got (4, 2)"),
    (lambda: forward_kinematics(np.zeros((4, 3, 3)), np.zeros((3, 3)), [-1, 0, 1, 2]), "offsets: expected shape (..., J, 3) with J=4"),
    (lambda: forward_kinematics(np.zeros((4, 3, 3)), np.zeros((4, 3)), [-1, 0, 1]), "parents: expected J=4 entries"),
    (lambda: forward_kinematics(np.zeros((4, 3, 3)), np.zeros((4, 3)), [-1, 0, 3, 2]), "parents: expected a tree, got a cycle"),
    (lambda: forward_kinematics(np.zeros((4, 3, 3)), np.zeros((4, 3)), [-1, 0, -1, 2]), "parents: expected exactly one root (-1), got 2 roots [0, 2]"),
    (lambda: forward_kinematics(np.zeros((4, 3, 3)), np.zeros((4, 3)), [-1, 0, 9, 2]), "parents: expected indices in [-1, 4), got [9]"),
    (lambda: forward_kinematics(np.zeros((2, 4, 3, 3)), np.zeros((4, 3)), [-1, 0, 1, 2], np.zeros((3, 3))), "batch shapes (2,), (), (3,) do not broadcast"),
    (lambda: change_axes(np.zeros((2, 4)), "LDB"), "x: expected shape (..., 3), got (2, 4)"),
]


@pytest.mark.parametrize("fn, msg", SHAPE_ERRORS, ids=[m[:40] for _, m in SHAPE_ERRORS])
def test_shape_errors(fn, msg):
    with pytest.raises(ValueError) as e: fn()
    assert msg in str(e.value), str(e.value)


@pytest.mark.parametrize("order", ["ZYx", "ZZX", "XYXZ", "XY", "abc", "", None, 3, "X Y"])
def test_bad_order(order):
    for fn in (lambda: euler_to_rotmat(np.zeros(3), order), lambda: rotmat_to_euler(np.eye(3), order),
               lambda: euler_to_rotmat(torch.zeros(3), order), lambda: rotmat_to_euler(torch.eye(3), order)):
        with pytest.raises(ValueError, match="order: expected 3 axis letters"): fn()


@pytest.mark.parametrize("code, msg", [
    ("LUX", "src: expected 3 letters from R/L, U/D, F/B"), ("LU", "src: expected 3 letters"), ("LUFB", "src: expected 3 letters"),
    ("luf", "src: expected 3 letters"), (None, "src: expected 3 letters"), ("LLF", "src: expected one letter from each pair"),
    ("LRF", "an axis repeated"), ("UDF", "an axis repeated"), ("RUF", "changes handedness (det -1"), ("LUB", "changes handedness")])
def test_bad_axes(code, msg):
    with pytest.raises(ValueError) as e: axes_matrix(code)
    assert msg in str(e.value), str(e.value)
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace("src", "dst")): axes_matrix("LUF", code)


# ---------------------------------------------------------------- device (GPU only)
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device_kept():
    r, _ = random_rotations(26, (50,))
    dev = "cuda"
    q = torch.tensor(r.as_quat(), device=dev)
    R = unitquat_to_rotmat(q)
    for out in (R, rotmat_to_unitquat(R), rotmat_to_rotvec(R), rot6d_to_rotmat(rotmat_to_rot6d(R)),
                rotmat_to_euler(R, "ZYX"), unitquat_slerp(q, q.flip(0), 0.3), rotmat_slerp(R, R.flip(0), torch.rand(50, device=dev, dtype=R.dtype)),
                unitquat_swing_twist(q, torch.tensor([0, 1.0, 0], device=dev))[0], change_axes(R[:, 0], "LDB"),
                forward_kinematics(R[:10], np.zeros((10, 3)), [-1] + list(range(9)))[0]):
        assert out.device.type == "cuda"
    np.testing.assert_allclose(R.cpu().numpy(), r.as_matrix(), atol=1e-12)
