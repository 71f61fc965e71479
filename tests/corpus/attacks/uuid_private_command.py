# attack: run an external command through a private uuid helper
# expect: attribute 'uuid._get_command_stdout' is not allowed (private library internals
import uuid

print(uuid._get_command_stdout("id"))
