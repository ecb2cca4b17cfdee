#!/usr/bin/env python3
"""Print 'open', 'refused' or 'filtered' for a TCP connect to HOST PORT (used by verify plays)."""

import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
try:
    with socket.create_connection((host, port), timeout=timeout):
        print("open")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("filtered")
