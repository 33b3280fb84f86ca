"""GS1 EPCIS interchange: reading EPCIS documents into the canonical records (DESIGN §1).

``model`` is what a document reads into, ``document`` reads the syntaxes, ``identifiers``
normalises identifiers, ``event_hash`` computes the CBV 2.0 event hash. docs/EPCIS.md
maps each EPCIS field to the graph.
"""
