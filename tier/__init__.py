"""The Tier engine: pure functions over a topology, node statuses and demands.

No file, network or clock access: same inputs, same answer. The rules live in the module
docstrings:

    quantity      capacities and demands as exact decimals: reading, scaling, rendering
    topology      the `topology:` config models and `validate_topology`
    graph         `compile_topology`: validated graphs, capacity groups, 2N sides, views
    flow          Feasible(H) by max-flow (formula 2)
    paths         paths per load, SPOFs, concurrent maintainability (formulas 3-5)
    redundancy    N, N+R, 2N per capacity group (formula 1)
    score         design and live tiers, `score` and `whatif` (formula 6)
    readiness     the readiness score 0-100 (formula 8)
    availability  downtime, availability, budget and burn (formula 7)
"""

from tier.graph import CompiledTopology, TopologyError, compile_topology
from tier.score import TierSnapshot, WhatIf, score, whatif
from tier.topology import TopologyConfig, validate_topology

__all__ = [
    "CompiledTopology",
    "TierSnapshot",
    "TopologyConfig",
    "TopologyError",
    "WhatIf",
    "compile_topology",
    "score",
    "validate_topology",
    "whatif",
]
