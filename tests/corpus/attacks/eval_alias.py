# attack: hide eval behind an alias so the call site looks innocent
# expect: line 3: eval is not allowed
run = eval
print(run("6 * 7"))
