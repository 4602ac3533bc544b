"""Layer 3, configuration: TOML files into the typed settings of the engines and services, and the
files the engine writes (0600 key files, bounded TOML reading)."""
