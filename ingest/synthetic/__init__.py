"""Synthetic plant generator: a realistic canonical ingest bundle (DESIGN §3).

``generate_plant(lots, seed, out, impurity_depth=1)`` writes the eighteen CSV files of the
canonical bundle plus ``bundle.json`` for a multi-site plant making the intermediate "LG-101":

* purchased raw materials, reagents and solvents from several suppliers (every purchased lot
  carries ``supplier_id`` and ``supplier_lot``); bulk solvent lots are consumed by hundreds of
  batches, catalysts and reagents by a handful;
* four chemical stages (INT1 -> INT2 -> INT3 -> FIN, the final intermediate) and a small API
  stage; each batch consumes its stage's purchased inputs plus one or more lots of the
  previous stage and produces one or two lots; intermediate lots are split between batches
  and re-meet later (diamonds); lots are moved between SITE-A, SITE-B and SITE-C;
* customers and shipments of final lots (a lot may ship to several customers in parts);
* QC results (batch and lot release tests, supplier CoAs), documents with versions,
  e-signatures, deviations, supplier change notices.

Planted facts (recorded under ``synthetic`` in ``bundle.json`` and in :class:`PlantSummary`):

* an **impurity cause**: one purchased lot R drives "Impurity B" (method HPLC-UV QC-M-102)
  above its upper limit. Generations: a batch's own consumed lots are at depth 1, the lots
  consumed by the batches that produced a depth-1 lot at depth 2, and so on.
  ``impurity_depth`` d chooses how far upstream R is:

  - d = 1 (the default): a reagent lot R consumed by 5..15 tested batches; all its tested
    consumers are above the limit, and nothing downstream of them.
  - d = 2 or 3: a raw or reagent lot R (never a solvent) consumed by batches of one stage s,
    s + d - 1 <= the API stage. D, the tested batches of stage s + d - 1 that have R at depth
    d, are all above the limit (upper * U(1.3, 2.5)); R's consumers and the stages in between
    are not raised (the impurity forms downstream). R is chosen so that |D| is 5..60 and R is
    *identifiable*: no other purchased lot was consumed by exactly R's consumers, and no other
    lot L (purchased or intermediate) has the same set D_L of descendant tested stage
    s + d - 1 batches. Candidates are tried in random order, a bounded number of them; when
    none fits, the best seen is taken: identifiable before not, then |D| 5..60, more than 60,
    1..4 (only tiny plants get there). A plant where no purchased lot has a tested descendant
    d - 1 stages downstream is refused (ValueError). For d = 1 the first rule applies: when
    the lot drawn shares its consumers exactly with another purchased lot, another is drawn.

  ``synthetic.planted``: ``analyte``, ``lot``, ``supplier_lot``, ``supplier``, ``material``
  (of R), ``depth``, ``product`` (the material of the stage whose batches are flagged) and
  ``units`` (the flagged batches: D; for d = 1 R's raised consumers).
* an **in-specification drift**, at every depth: one purchased lot Q (not R, not a bulk lot
  in more than 40 tested batches, consumed by no batch that has R at depth 1..max(d, 2) nor
  by a false positive), consumed by batches of stage 0 or 1 only (stage 0 preferred: its
  batches have no batch upstream, so no intermediate's supplier lot can reach all of the
  drift's batches through the genealogy), at least 8 of them tested (12 or more preferred:
  a long drift stands out of the chance signals of the Nelson rules) and none of those
  among the first 25 tested batches of that stage. Q's tested consumers, in test order k = 0..n-1, get
  Impurity B = 0.095 + 0.035 * k / max(1, n - 1) %: well above the usual N(0.035, 0.012)
  (clipped to 0.003..0.09), rising, and inside the 0.15 % limit. Downstream stages are not
  changed. Q is chosen so that no other raw/reagent lot was consumed by all of Q's consumers
  and no other purchased lot by exactly them; a Q whose consumers no other purchased lot at
  all covers is preferred. (A bulk solvent lot, consumed by hundreds of batches, usually covers all of Q's
  consumers: at a few thousand lots there is one per site.) When no lot meets the count and
  baseline rules (tiny plants), the one with most tested consumers, out of the baseline if
  possible, is taken. ``synthetic.drift``: ``analyte``, ``lot``, ``supplier_lot``,
  ``supplier``, ``material`` (of Q), ``product``, ``method``, ``units``.
* elsewhere results are within limits except a handful of random false positives, never
  among the flagged units nor the drift's; lot release results (final lots) are tested with
  release methods of their own (``HPLC-UV QC-M-111/112``, ``KF QC-M-211``), so they make
  control charts of their own rather than doubling the batches' points;
* a few lots with a mass-balance shortfall (2-6 % of the quantity unaccounted);
* a very few signatures whose ``record_sha256`` does not match their version's hash.

Decisions the design left open:

* ``content_sha256`` of a document version is the SHA-256 of the canonical JSON (sorted keys,
  no whitespace; RFC 8785 for these plain ASCII values) of the version's row fields
  ``{created_at, created_by, document_id, kind, title, version}`` with ``created_at`` exactly
  as written, so it can be recomputed from ``documents.csv``.
* Document version ``status`` is one of ``draft``, ``in_review``, ``approved``, ``superseded``.
* ``expiry`` is a calendar date (``YYYY-MM-DD``).
* Quantities are exact decimals with three places; for every lot
  ``consumed + shipped + on_hand == quantity`` exactly (after unit conversion), except the
  planted shortfalls.

Same seed, same bytes: all randomness comes from ``numpy.random.default_rng(seed)`` and, for
the choice of Q and of a cause of depth >= 2, ``default_rng([seed, 13])``; no clock is read,
and every number is written with a fixed format. The second generator keeps the other draws of
a depth-1 plant as they were before the drift existed; for one seed
the production graph (lots, batches, consumptions, outputs) is the same at every depth. Large
files are formatted column-wise into byte matrices with numpy and streamed in chunks.
"""

from ingest.synthetic.catalog import FILES, IMPURITY_DEPTHS, MIN_LOTS, PlantSummary
from ingest.synthetic.plant import generate_plant, main

__all__ = ["FILES", "IMPURITY_DEPTHS", "MIN_LOTS", "PlantSummary", "generate_plant", "main"]
