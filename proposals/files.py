"""Files sent with a matter or a reply: images (re-encoded without metadata) and PDFs only.

The rule is the project's (``liaison.uploads.clean_attachment``, also used for research
reports); a ticket takes at most ``MAX_FILES`` of them at once.
"""

from __future__ import annotations

from liaison.uploads import IMAGE_TYPES, MAX_FILE_BYTES, CleanFile, clean_attachment

MAX_FILES = 3

__all__ = ["IMAGE_TYPES", "MAX_FILES", "MAX_FILE_BYTES", "CleanFile", "clean_attachment"]
