"""The pure core: what an event is (canonical bytes, the envelope, the table of event types),
who may write it (keys, signers) and the rules it must meet (``rulebook``). No clock, no file,
no database: imports ``errors`` and ``resources`` (the packaged schemas) and nothing else of the
project."""
