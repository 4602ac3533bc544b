"""Layer 3, configuration: TOML files into the typed settings of the engines and services (one
reader, :mod:`broadcast.config.reader`; the shared tables, :mod:`broadcast.config.sections`; one
module per file: ``bmsc``, ``stream``, ``carousel``, ``ue``), the UE's GBA key file, and the files
the engine writes (0600 key files)."""
