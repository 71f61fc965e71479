import xml.etree.ElementTree as ET

doc = """<catalog>
  <book id="b1"><title>Dune</title><price>9.99</price></book>
  <book id="b2"><title>Emma</title><price>4.50</price></book>
</catalog>"""
root = ET.fromstring(doc)
for book in root.findall("book"):
    print(book.get("id"), book.findtext("title"), float(book.findtext("price")))
total = sum(float(p.text) for p in root.iter("price"))
print(f"total {total:.2f}")
new = ET.SubElement(root, "book", id="b3")
ET.SubElement(new, "title").text = "Ulysses"
print(len(root), ET.tostring(new, encoding="unicode"))
