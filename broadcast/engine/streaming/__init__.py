"""The protected stream (TS 33.246 6.3.3.2.2), sans-IO: the MTK schedule and the protect pipeline
(MTKs come from :mod:`broadcast.engine.keys.mtk`)."""
