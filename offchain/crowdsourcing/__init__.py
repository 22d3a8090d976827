"""MetaAICM crowdsourcing (seed 001): the pure rules of the contracts, for clients, agents and benchmarks."""
