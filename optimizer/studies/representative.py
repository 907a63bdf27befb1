"""Representative days of a year: a few typical days with weights, for sizing studies.

How they are chosen
-------------------
1. Each local day becomes a feature vector: for every input column that varies over the year
   (PV available per array, loads, prices, carbon intensity, digester production, ...), its
   24 local-hour means, divided by that column's largest absolute value over the year so that
   every column weighs the same whatever its unit.
2. The days are clustered with k-medoids (Kaufman & Rousseeuw, *Finding Groups in Data*,
   Wiley 1990, ch. 2: the BUILD start followed by alternating assignment / medoid updates,
   Park & Jun, *Expert Syst. Appl.* 36 (2009) 3336): the medoid of a cluster is a real day,
   so every representative day is a day that happened, with consistent weather and loads.
3. A day's weight is the number of days in its cluster, so weights sum to the number of days
   and a weighted sum of daily costs estimates the year's.
4. Optionally the day with the largest residual load (load minus PV, summed over the day) is
   added as its own representative with weight 1 (taken out of its cluster), so that sizing
   sees the hardest day — the usual safeguard of representative-day sizing (Poncelet et al.,
   *IEEE Trans. Power Syst.* 32 (2017) 1936).

Clustering is deterministic: no random start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RepresentativeDays:
    """Chosen days, their weights and the day each calendar day is represented by.

    ``days`` and ``weights`` are aligned; ``weights`` sum to the number of clustered days;
    ``assignment`` maps every clustered local date to its representative date.
    """

    days: tuple[date, ...]
    weights: tuple[float, ...]
    assignment: pd.Series

    def __post_init__(self) -> None:
        if len(self.days) != len(self.weights):
            raise ValueError("days and weights must have the same length")


def daily_features(table: pd.DataFrame, tz: str) -> pd.DataFrame:
    """One row per local date: each varying column's 24 local-hour means, scaled to [-1, 1].

    Parameters
    ----------
    table : DataFrame
        Input series on a tz-aware index covering whole local days.
    tz : str
        IANA time zone of the site, which defines the local days and hours.
    """
    if not isinstance(table.index, pd.DatetimeIndex) or table.index.tz is None:
        raise ValueError("table must have a tz-aware DatetimeIndex")
    numeric = table.select_dtypes("number")
    scale = numeric.abs().max()
    varying = numeric.columns[(numeric.max() - numeric.min()) > 1e-9 * scale.clip(lower=1e-12)]
    if len(varying) == 0:
        raise ValueError("no input column varies over the period: nothing to cluster on")
    scaled = numeric[varying] / scale[varying]
    local = scaled.index.tz_convert(tz)
    keys = [pd.Index(local.date, name="date"), pd.Index(local.hour, name="hour")]
    hourly = scaled.groupby(keys).mean()
    wide = hourly.unstack("hour")
    # a daylight-saving day lacks an hour: take the neighbouring hour's value
    return wide.T.ffill().bfill().T.sort_index(axis=1)


def k_medoids(distances: np.ndarray, k: int, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Cluster points given their pairwise distances; returns (medoid indices, labels).

    BUILD start (greedy: each new medoid lowers the total distance most), then alternating
    assignment to the nearest medoid and re-choice of each cluster's medoid until nothing
    changes. Deterministic; ties go to the lower index.
    """
    n = distances.shape[0]
    if distances.shape != (n, n):
        raise ValueError(f"distances must be square, got shape {distances.shape}")
    if not 1 <= k <= n:
        raise ValueError(f"k must lie in [1, {n}], got {k}")
    medoids = [int(np.argmin(distances.sum(axis=1)))]
    nearest = distances[medoids[0]].copy()
    while len(medoids) < k:
        gain = np.maximum(nearest[None, :] - distances, 0.0).sum(axis=1)
        gain[medoids] = -1.0
        best = int(np.argmax(gain))
        medoids.append(best)
        nearest = np.minimum(nearest, distances[best])
    chosen = np.array(medoids)
    for _ in range(max_iter):
        labels = np.argmin(distances[chosen], axis=0)
        updated = chosen.copy()
        for c in range(k):
            members = np.flatnonzero(labels == c)
            inner = distances[np.ix_(members, members)].sum(axis=0)
            updated[c] = members[int(np.argmin(inner))]
        if np.array_equal(updated, chosen):
            break
        chosen = updated
    labels = np.argmin(distances[chosen], axis=0)
    return chosen, labels


def choose_days(
    table: pd.DataFrame,
    tz: str,
    k: int,
    *,
    residual_load: pd.Series | None = None,
) -> RepresentativeDays:
    """Choose ``k`` representative days of ``table`` by k-medoids, weighted by cluster size.

    Parameters
    ----------
    table : DataFrame
        Inputs over whole local days (tz-aware index).
    tz : str
        Site time zone.
    k : int
        Number of clusters.
    residual_load : Series, optional
        Load minus PV [kW] on the same index; when given, the day with the largest daily sum
        is added as an extra representative of weight 1 (if it is not a medoid already).
    """
    features = daily_features(table, tz)
    x = features.to_numpy()
    sq = (x * x).sum(axis=1)
    distances = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0))
    medoids, labels = k_medoids(distances, min(k, len(x)))
    dates = list(features.index)
    rep = [dates[m] for m in medoids]
    assigned = [rep[c] for c in labels]
    if residual_load is not None:
        local = residual_load.index.tz_convert(tz)
        daily = residual_load.groupby(pd.Index(local.date)).sum()
        hardest = daily.idxmax()
        if hardest not in rep and hardest in dates:
            rep.append(hardest)
            assigned[dates.index(hardest)] = hardest
    assignment = pd.Series(assigned, index=pd.Index(dates, name="date"), name="representative")
    counts = assignment.value_counts()
    order = sorted(rep)
    return RepresentativeDays(
        days=tuple(order),
        weights=tuple(float(counts[d]) for d in order),
        assignment=assignment,
    )
