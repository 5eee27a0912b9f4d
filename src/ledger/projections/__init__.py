"""The projections, as the top-level ``projections/`` folder holds their data: the accreditation
conditions (``rules``, from ``conditions.toml``), the compliance fold and its evaluation
(``projection``, pure), and the fold of a ledger in its store, judged by the rulebook
(``projected``). ``ledger.compliance`` is ``projection.compliance``."""
