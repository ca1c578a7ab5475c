"""Graph neural network item encoders: numba samplers, GraphSAGE, PinSAGE and an edge-enhanced global encoder."""

from gnn.config import EdgeGNNConfig, GNNConfig, GraphSAGEConfig, PinSAGEConfig
from gnn.encoders import GlobalGraphEncoder, edge_features
from gnn.features import ItemFeatures
from gnn.layers import DisentangledEdgeConv, PinSAGEConv, sage_conv
from gnn.models import EdgeGNN, GNNRecommender, GraphSAGE, PinSAGE
from gnn.samplers import (
    Block,
    SampledSubgraph,
    alias_table,
    cumulative_weights,
    importance_neighbors,
    sample_blocks,
    sample_neighbors,
    table_blocks,
    weight_tables,
)

__all__ = [
    "GNNConfig", "GraphSAGEConfig", "PinSAGEConfig", "EdgeGNNConfig",
    "GlobalGraphEncoder", "edge_features", "ItemFeatures",
    "sage_conv", "PinSAGEConv", "DisentangledEdgeConv",
    "GNNRecommender", "GraphSAGE", "PinSAGE", "EdgeGNN",
    "Block", "SampledSubgraph", "alias_table", "cumulative_weights", "weight_tables", "sample_neighbors",
    "importance_neighbors", "sample_blocks", "table_blocks",
]
