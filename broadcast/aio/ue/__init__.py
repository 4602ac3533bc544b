"""``mbms receive``: the reference UE on sockets — MSK client (HTTP + MIKEY push), streaming and
download receivers, key log."""
