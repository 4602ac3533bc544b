"""The reference UE: the other side of every procedure, for tests, demos and integrators."""
