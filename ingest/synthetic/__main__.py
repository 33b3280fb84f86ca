"""`python -m ingest.synthetic --lots N --out DIR`: write a plant."""

from ingest.synthetic.plant import main

raise SystemExit(main())
