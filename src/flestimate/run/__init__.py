"""The run room: from a YAML config file to the calls of the library (``flestimate run``).

- :mod:`~flestimate.run.config` (with :mod:`~flestimate.run.config_specs`): the
  config file's schema and validation;
- :mod:`~flestimate.run.expr`: the safe filter language of reference populations;
- :mod:`~flestimate.run.inputs` and :mod:`~flestimate.run.weighting_steps`: reading
  the data and the totals, building the design and its weighting steps;
- :mod:`~flestimate.run.tables` and :mod:`~flestimate.run.summaries`: the estimates
  behind each published table, the headline and the summaries;
- :mod:`~flestimate.run.methods`: the methods text of the report;
- :mod:`~flestimate.run.provenance`: package versions, settings and the manifest;
- :mod:`~flestimate.run.progress`: the progress lines;
- :mod:`~flestimate.run.pipeline`: :func:`~flestimate.run.pipeline.run_pipeline`, the
  orchestration.

The run side sits after the report in the chain of the house: it translates the
config's specifications into the report's own (:mod:`flestimate.report.specs`); no
library layer imports it. Importing this package loads nothing.
"""
