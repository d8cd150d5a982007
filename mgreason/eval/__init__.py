"""The evaluation core, shared by ``run-scenario`` and sweeps.

plan (:mod:`.plan`: requests, generation parameters, run config) → engine (:mod:`.engine`: scoring-mode
dispatch, batches, response cache (:mod:`.cache`), retries, error records, record stores (:mod:`.store`))
→ summary (:mod:`.summary`: the statistics of :mod:`mgreason.stats` as the models of :mod:`.records`)
→ report (:mod:`.report`: ``summary.md``; the sweep report adds Holm and its layout).
:mod:`.run` is ``run-scenario``: one model, one scenario, in process.
"""
