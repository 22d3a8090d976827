"""ML-model crowdsourcing of MetaAICM (seed 001, spec §2.2, §3.2, Algorithm 4.1): models, agents and flow.

* :mod:`.models`: the example task (scikit-learn's bundled digits), worker recipes, ONNX export;
* :mod:`.validator`: untrusted model files are loaded only as ONNX (size cap, checker, signature);
* :mod:`.evaluate`: onnxruntime scoring in MLC's millionths;
* :mod:`.sealed`: encrypted blobs with per-recipient wrapped keys, referenced by one ``ipfs://`` URI;
* :mod:`.client`: web3 clients of MLC, RC and the committee (any ``ICommittee``);
* :mod:`.agents`: the MSP, ML worker and committee-node agents;
* :mod:`.flow`: ``run_ml_crowdsourcing_flow`` for ``make demo``.
"""
