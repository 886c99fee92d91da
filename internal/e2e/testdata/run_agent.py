"""An agent-like program for warden run: it uses open() and urllib as any
agent's own tools would, and prints one line per attempt."""
import json
import sys
import urllib.request

granted, forbidden, api, other = sys.argv[1:5]

def attempt(name, fn):
    try:
        print(name, "OK", fn(), flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is the answer
        print(name, "REFUSED", type(e).__name__, flush=True)

attempt("read-granted", lambda: open(granted).read().strip())
attempt("read-forbidden", lambda: open(forbidden).read().strip())
attempt("api-granted", lambda: json.load(urllib.request.urlopen(api, timeout=10))["path"])
attempt("api-forbidden", lambda: urllib.request.urlopen(other, timeout=10).status)
