"""Catalog search over ``search_documents``: exact names first, then name prefixes, then relevance.

The order of the hits is, for a query's match set M (every document holding every query word, the
last word as a prefix, and passing the filters):

1. ``exact_name``: the document's name is the query (``employees``, ``Employees``,
   ``pump health`` for ``pump_health``);
2. ``name_prefix``: the name starts with the query (``emplo``, ``customer ch``);
3. ``text``: the rest, by full-text relevance: bm25 on SQLite (name 10, description 4, body 2),
   ``ts_rank_cd`` on PostgreSQL (name A, description B, body C);

ties broken by ``ref``. Relevance scores are not comparable between the two databases.

Bounded cost. FACTS.md: naive FTS5 ``ORDER BY rank LIMIT 20`` has p99 ~45 ms on 100k entries.
That query pays for every match twice: bm25 needs each term's document frequency, which FTS5
computes by walking the term's whole doclist, and then it scores (a row look-up) every match
before the LIMIT. Here every step reads a bounded number of entries:

* M is walked once, newest first (``ORDER BY rowid DESC``, which FTS5 walks without sorting),
  stopping after ``TOTAL_CAP`` + 1 ids: that counts it (``total``, exact up to the cap) and gives
  the candidates. The filters are FTS5 terms too (facet tokens, see the migration), so a filter
  narrows the walk instead of adding a row look-up per match.
* When M fits under ``CANDIDATE_CAP`` (most real queries: names, specific words), all of it is
  ordered as above and the facets are exact (``order="relevance"``). On SQLite that also needs
  every query word to be in at most ``FREQUENT_TERM`` documents (a bounded walk per word):
  bm25's frequency walk over a word like "date" alone costs more than the whole budget, so a
  query holding such a word keeps the name tiers and then goes by ``ref`` (``order="ref"``).
  ``ts_rank_cd`` has no corpus statistics, so PostgreSQL always ranks.
* When M is over ``CANDIDATE_CAP`` (a common word, a short prefix), nothing ranks all of it: the
  hits are the exact-name and name-prefix documents, found through the ``(lower(name), ref)``
  index (at most ``NAME_SCAN`` entries read), then the other matches newest first
  (``order="recency"``), and the facets count the newest ``FACET_SAMPLE`` matches
  (``facets_exact`` is false). Recency rather than a partial bm25: the newest documents are a
  fair guess at what a catalog user wants when the words do not decide, and it is the order the
  index walks for free, so the cursor can carry on through the whole match set.

Rows come back from the database as one JSON array per statement: on the hot path, building a
Python row object per row cost more than the database's own work.

Query syntax: none. The query is split into words (runs of letters and digits, lower-cased, as
both full-text indexes split text), at most ``MAX_TERMS`` of them, and every word must match; the
last word matches as a prefix unless the query ends with a space. Quotes, ``*``, ``-``,
``NEAR(``, parentheses and SQL are just separators: the words are quoted by this module, never
passed through. A query without words lists the documents that pass the filters.

Pagination: ``next_cursor`` is an opaque token holding the last hit's sort key (keyset, not an
offset): walking it gives every hit once, in the order of one big page. A cursor only works with
the query and filters that produced it.
"""

from meshlake.governance.services._search._model import CANDIDATE_CAP as CANDIDATE_CAP
from meshlake.governance.services._search._model import FACET_SAMPLE as FACET_SAMPLE
from meshlake.governance.services._search._model import MAX_LIMIT as MAX_LIMIT
from meshlake.governance.services._search._model import TOTAL_CAP as TOTAL_CAP
from meshlake.governance.services._search._model import FacetCount as FacetCount
from meshlake.governance.services._search._model import Facets as Facets
from meshlake.governance.services._search._model import SearchHit as SearchHit
from meshlake.governance.services._search._model import SearchPage as SearchPage
from meshlake.governance.services._search._query import Filters as Filters
from meshlake.governance.services._search._query import Query as Query
from meshlake.governance.services._search._rank import search as search
