"""A local SMTP server for benchmarks: accepts every message on 127.0.0.1:PORT and keeps
only a count, written to COUNT_FILE once a second. `python bench/smtp_sink.py PORT FILE`."""

import sys
import threading
import time

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
        return "250 OK"


if __name__ == "__main__":
    port, path = int(sys.argv[1]), sys.argv[2]
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    deadline = time.monotonic() + float(sys.argv[3] if len(sys.argv) > 3 else 3600)
    while time.monotonic() < deadline:  # bounded: stops by itself
        with open(path, "w") as out:
            out.write(str(counter.count))
        time.sleep(1)
    controller.stop()
