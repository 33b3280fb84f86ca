"""The conformance suite: every investigation on both stores (the embedded store and a real
Neo4j), with the same answers required of both.

Hand-built graphs with hand-checked answers cover diamonds, a lot consumed by many
batches, late-arriving master data (placeholders, then resolved), a tampered signature
and a mass-balance shortfall; generated plants (`ingest.synthetic`) check that both
stores agree on everything and that the planted impurity cause ranks first. Run it alone
with `pytest tests/conformance`.
"""
