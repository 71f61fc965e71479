# attack: the help system imports pydoc and can spawn a pager process
# expect: help() is not allowed
help("modules")
