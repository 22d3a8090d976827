"""MetaAICM data crowdsourcing (seed 001, Algorithm 4.2): DC and OracleManager clients,
agents and the demo flow."""
