"""``meshlake review``: a policy-as-code review of spec changes for pull requests."""

from meshlake.governance.review._changes import AgreementHit as AgreementHit
from meshlake.governance.review._changes import Change as Change
from meshlake.governance.review._changes import Consumer as Consumer
from meshlake.governance.review._changes import compare as compare
from meshlake.governance.review._errors import ReviewUsageError as ReviewUsageError
from meshlake.governance.review._report import MARKER as MARKER
from meshlake.governance.review._report import to_json as to_json
from meshlake.governance.review._report import to_markdown as to_markdown
from meshlake.governance.review._review import ReviewReport as ReviewReport
from meshlake.governance.review._review import review as review
