"""Products beyond matmul (inner, vdot, tensordot, kron, cross, einsum) and np.linalg.
"""
