"""Adapters that put `advisor.Monitor` inside a training job. Each imports its framework lazily.

advisor.integrations.loop       TrainingGuard, for a hand-written PyTorch loop
advisor.integrations.lightning  AdvisorCallback (PyTorch Lightning)            pip install 'advisor[lightning]'
advisor.integrations.hf         AdvisorTrainerCallback (transformers Trainer)  pip install 'advisor[hf]'
advisor.integrations.keras      AdvisorKerasCallback (Keras 3, any backend)    pip install 'advisor[keras]'
advisor.integrations.optuna     AdvisorPruner                                  pip install 'advisor[optuna]'
advisor.integrations.ray_tune   AdvisorStopper (Ray Tune)                      pip install 'advisor[ray]'

All of them share `Guard` (advisor.integrations.base): the same Monitor, the same rules, the same
`advisor.event/1` events, and one policy for what to do on each severity.
"""
