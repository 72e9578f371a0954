"""The search package: one engine interface (Elasticsearch or embedded tantivy), indexing
jobs driven by the other packages' signals, the ``/search`` API and ``flask search``.
"""
