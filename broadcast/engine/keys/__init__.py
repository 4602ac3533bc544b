"""Key issuing on a :class:`~broadcast.proto.keys.store.KeyStore`: the one MTK allocator."""
