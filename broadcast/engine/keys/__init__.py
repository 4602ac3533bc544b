"""Key issuing on a :class:`~broadcast.proto.keys.store.KeyStore`: the one MTK allocator
(:mod:`~broadcast.engine.keys.issuing`) and the one MTK issuer of streaming and download
(:mod:`~broadcast.engine.keys.mtk`)."""
