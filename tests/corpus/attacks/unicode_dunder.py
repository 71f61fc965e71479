# attack: fullwidth letters inside a dunder name (normalised by Python to __subclasses__)
# expect: access to attribute '__subclasses__' is not allowed
print(().__class__.__ｂａｓｅ__.__ｓｕｂｃｌａｓｓｅｓ__())
