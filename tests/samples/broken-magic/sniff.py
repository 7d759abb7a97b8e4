"""Tell a file's type by its bytes (python-magic loads libmagic)."""

import sys

import magic

print(magic.from_file(sys.argv[1] if len(sys.argv) > 1 else __file__, mime=True))
