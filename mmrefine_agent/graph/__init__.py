"""The refinement state machine: typed state, nodes, routing, the builder, the Strategy base."""
