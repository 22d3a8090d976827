"""MetaAICM marketplace (seed 001): the pure rules of MPC, for buyers, sellers and tests."""
