# attack: run the json.tool command-line program, which opens files named on the command line
# expect: import of 'json.tool' is not allowed
import json.tool

json.tool.main()
