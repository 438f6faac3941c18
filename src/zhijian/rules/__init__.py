"""Rules as data: the taxonomy (taxonomy.yaml), YAML rule packs (packs/*.yaml) with their sources,
the portability lint and the compiler that turns rules into Ibis expressions."""
