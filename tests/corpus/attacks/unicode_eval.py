# attack: fullwidth letters that Python normalises (NFKC) to eval
# expect: eval is not allowed (dynamic code execution)
print(ｅｖａｌ("6 * 7"))
