# attack: import a denied module by name through importlib
# expect: import of 'importlib' is not allowed (dynamic code or interpreter internals)
import importlib

importlib.import_module("os").system("id")
