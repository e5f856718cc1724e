"""The CLI's output layer and the publication's progress and summary lines, for the command groups
that other parts (governance, orchestration) add to ``meshlake``. Never imports pyspark, so a
governance-only install has it."""

from meshlake.platform.cli._materialize import dropped as dropped
from meshlake.platform.cli._materialize import finished as finished
from meshlake.platform.cli._materialize import starting as starting
from meshlake.platform.cli._materialize import summarize as summarize
from meshlake.platform.cli._output import console as console
from meshlake.platform.cli._output import document as document
from meshlake.platform.cli._output import errors as errors
from meshlake.platform.cli._output import fail as fail
from meshlake.platform.cli._output import note as note
from meshlake.platform.cli._output import say as say
from meshlake.platform.cli._output import table as table
from meshlake.platform.cli._summary import render_summary as render_summary
from meshlake.platform.cli._summary import summary_table as summary_table
