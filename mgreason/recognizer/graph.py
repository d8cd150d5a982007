"""Graph adjacency for graph convolutions, built from a :class:`~mgreason.skeleton.layouts.Layout`.

ST-GCN's "spatial" partition splits the neighbourhood of every joint into three subsets: the joint
itself, its neighbours closer to the centre joint (centripetal / inward) and its neighbours farther
from it (centrifugal / outward). Each subset is a ``V x V`` matrix normalised by in-degree, so the
graph conv averages rather than sums over neighbours. Works for any layout (hop distances come from a
BFS over the layout's edges, so non-tree edges such as face loops are fine).
"""

from __future__ import annotations

import numpy as np

from mgreason.skeleton.layouts import Layout, get_layout

__all__ = ["hop_distance", "spatial_subsets", "normalized_adjacency", "bone_parents"]


def hop_distance(layout: Layout | str) -> np.ndarray:
    """Hop distance of every joint from the layout's centre joint (``inf`` when unreachable)."""
    lay = get_layout(layout)
    v = lay.num_joints
    adj: list[list[int]] = [[] for _ in range(v)]
    for i, j in lay.edges:
        adj[i].append(j)
        adj[j].append(i)
    dist = np.full(v, np.inf)
    dist[lay.center] = 0
    frontier = [lay.center]
    d = 0
    while frontier:
        d += 1
        nxt = []
        for u in frontier:
            for w in adj[u]:
                if not np.isfinite(dist[w]):
                    dist[w] = d
                    nxt.append(w)
        frontier = nxt
    return dist


def _normalize_columns(a: np.ndarray) -> np.ndarray:
    """``A D^-1`` with D the column sums: column w of the result averages the joints that feed w."""
    deg = a.sum(axis=0)
    inv = np.where(deg > 0, 1.0 / np.maximum(deg, 1e-12), 0.0)
    return (a * inv[None, :]).astype(np.float32)


def spatial_subsets(layout: Layout | str) -> np.ndarray:
    """``(3, V, V)`` float32: self, inward and outward subsets (ST-GCN "spatial" partition).

    ``A[k, v, w]`` is the weight with which joint ``v`` contributes to joint ``w`` (the backbone
    computes ``x @ A[k]`` over the joint axis). Unreachable joints keep their self loop only.
    """
    lay = get_layout(layout)
    v = lay.num_joints
    dist = hop_distance(lay)
    big = np.where(np.isfinite(dist), dist, 1e9)
    a_self = np.eye(v, dtype=np.float32)
    a_in = np.zeros((v, v), dtype=np.float32)
    a_out = np.zeros((v, v), dtype=np.float32)
    for i, j in lay.edges:
        for src, dst in ((i, j), (j, i)):
            # message from src to dst: "inward" when src is closer to the centre than dst
            if big[src] < big[dst]:
                a_in[src, dst] = 1.0
            elif big[src] > big[dst]:
                a_out[src, dst] = 1.0
            else:  # same hop distance (a loop edge): count as both halves
                a_in[src, dst] = 0.5
                a_out[src, dst] = 0.5
    full = a_self + a_in + a_out
    deg = full.sum(axis=0)
    inv = np.where(deg > 0, 1.0 / deg, 0.0)[None, :]
    return np.stack([a_self * inv, a_in * inv, a_out * inv]).astype(np.float32)


def normalized_adjacency(layout: Layout | str, self_loops: bool = True) -> np.ndarray:
    """``(V, V)`` column-normalised adjacency with self loops (one graph-mixing step)."""
    lay = get_layout(layout)
    return _normalize_columns(lay.adjacency(self_loops=self_loops))


def bone_parents(layout: Layout | str) -> np.ndarray:
    """Parent of every joint towards the centre (the centre is its own parent: a zero bone)."""
    lay = get_layout(layout)
    p = np.asarray(lay.parents).copy()
    p[p < 0] = np.arange(lay.num_joints)[p < 0]
    return p
