"""Federated learning as the reference task of seed 004: FedAvg in computing sandboxes over onion circuits.

* :mod:`.program`: the registered program (softmax regression, FedAvg), pure NumPy;
* :mod:`.data`: the digits data set shipped with scikit-learn, split across the computing nodes;
* :mod:`.network`: the courier (onion circuits or direct delivery) and a local router overlay;
* :mod:`.task`: :func:`~.task.run_fl_task`, paper steps 4-10 for the 11-step workflow.
"""
