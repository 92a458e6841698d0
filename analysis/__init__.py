"""The research's analyses on the real data: stylised facts, the model ladder (with the out-of-sample test) and
the identification of the scenario parameters from change 2011 -> 2021 (:mod:`~migravity.analysis.identification`).

Reads the data (:mod:`migravity.geodata`) and fits with the engine (:mod:`migravity.engine`).
"""
