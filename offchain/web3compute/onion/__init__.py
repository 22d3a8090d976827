"""Onion-routed sandbox location (seed 004, Fig. 4): cells, routers, the Exit endpoint and the proxy.

Pure format and layering live in :mod:`.cells` and :mod:`.e2e`; the asyncio TCP services in
:mod:`.router`, :mod:`.endpoint` and :mod:`.proxy`; the on-chain directory (RSC) in :mod:`.directory`.
Nothing is re-exported here, so that ``metatrust`` (which imports :mod:`.cli`) starts fast.
"""
