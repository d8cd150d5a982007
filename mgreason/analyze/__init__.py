"""From recordings to a verdict: ``mgreason analyze`` and the recording resolver of scenarios whose items are
recordings.

* :mod:`.recordings` - recordings → transcripts through a cache keyed by content hash and checkpoint identity
  (the :class:`~mgreason.scenario.recordings.RecordingResolver` of run-scenario, sweep and analyze);
* :mod:`.dialogue` - what was said: plain text, SRT / WebVTT with times, JSON turns;
* :mod:`.items` - the recordings of the inputs, their dialogue, the task scenario, the unlabelled items and
  the conditions that make sense for them;
* :mod:`.analysis` - the chain run through the evaluation engine, one verdict per recording;
* :mod:`.report` - verdict blocks, the batch table, JSON.

This package sits above both the recognition side (transcribe) and the reasoning side (scenario, eval).
"""
