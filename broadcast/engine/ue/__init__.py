"""The reference UE, sans-IO: MSK store, Digest client state, MTK gate, streaming and download
receivers, the report."""
