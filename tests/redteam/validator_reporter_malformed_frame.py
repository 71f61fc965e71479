# attack: sys.stdout is the bootstrap's stream object; its private _reporter writes frames to the
#   host, so send a frame the host parser does not expect (a list as the kind) and crash it
# escaped-if: stdout has "BYPASSED:" (the bootstrap's reporter was reached), or the response says
#   "internal error" (the host's frame parser raised on our frame)
import sys

stream = sys.stdout
reporter = stream._reporter
reporter.send({"t": ["not", "a", "frame", "kind"], "d": "x"})
reporter.send({"t": "out", "d": "BYPASSED: sys.stdout._reporter writes raw frames to the host\n"})
