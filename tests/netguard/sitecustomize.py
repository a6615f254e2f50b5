"""DNS/connect guard for tests: logs and refuses every lookup or connection off this machine."""

import os
import socket

_LOG = os.environ.get("NOTICES_NET_GUARD_LOG")
_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "ip6-localhost", "0.0.0.0", ""}


def _log(line):
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {line}\n")


def _is_local(host):
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = host.strip("[]").lower()
    return host in _LOCAL_NAMES or host.startswith("127.")


_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    if not _is_local(host):
        _log(f"lookup {host}")
        raise socket.gaierror(socket.EAI_NONAME, f"lookup of {host} refused by the test network guard")
    return _getaddrinfo(host, *args, **kwargs)


_connect = socket.socket.connect


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
        _log(f"connect {address[0]}")
        raise OSError(f"connection to {address[0]} refused by the test network guard")
    return _connect(self, address)


socket.getaddrinfo = getaddrinfo
socket.socket.connect = connect
if _LOG:  # who runs under the guard: the test checks that Prefect's own server process did
    import sys

    _log(f"guarded {' '.join(sys.argv)[:300]}")
