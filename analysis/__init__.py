"""The research's analyses on the real data: stylised facts and the model ladder (with the out-of-sample test).

Reads the data (:mod:`migravity.geodata`) and fits with the engine (:mod:`migravity.engine`).
"""
