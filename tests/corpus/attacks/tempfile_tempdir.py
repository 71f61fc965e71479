# attack: point tempfile at a host directory by rewriting library state
# expect: assignment to 'tempfile.tempdir' is not allowed
import tempfile

tempfile.tempdir = "/"
print(tempfile.gettempdir())
