"""Verification: re-run short trials to check a recommendation.

`builtins` holds small real torch trainings on data that ships with scikit-learn; they are the
reference trials for the demo, the fixtures (fixtures/make_fixtures.py), the tuning corpus
(bench/make_corpus.py) and the tests. `logwriters` writes what a trial logged in the formats the
ingesters read, so the same training can be checked through every reader.

Nothing here is imported by `advisor --help`: torch is an optional extra (`advisor[verify]`).
"""
