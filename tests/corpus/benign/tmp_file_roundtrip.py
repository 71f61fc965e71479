"""Write a file in the scratch /tmp and read it back."""

import json

path = "/tmp/nexus_benign_roundtrip.json"
data = {"items": [1, 2, 3], "label": "scratch"}
with open(path, "w", encoding="utf-8") as handle:
    json.dump(data, handle)
with open(path, encoding="utf-8") as handle:
    loaded = json.load(handle)
print(loaded == data, loaded["label"], sum(loaded["items"]))

with open("/tmp/nexus_benign_lines.txt", "w") as handle:
    handle.writelines(f"line {i}\n" for i in range(3))
with open("/tmp/nexus_benign_lines.txt") as handle:
    print([line.strip() for line in handle])
