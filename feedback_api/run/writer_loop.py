"""`python -m feedback_api.run.writer_loop --socket @name`: the machine's writer process (see
`store/writer_process.py`). gunicorn's master starts it before its workers."""

import sys

from feedback_api.store.writer_process import main

if __name__ == "__main__":
    sys.exit(main())
