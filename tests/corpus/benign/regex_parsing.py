import re

log = """2025-01-02 10:00:01 ERROR disk full on /dev/sda1
2025-01-02 10:05:22 INFO backup done
2025-01-02 11:15:00 ERROR timeout after 30s"""
pattern = re.compile(r"^(?P<date>\S+) (?P<time>\S+) (?P<level>[A-Z]+) (?P<msg>.*)$", re.MULTILINE)
errors = [m.groupdict() for m in pattern.finditer(log) if m["level"] == "ERROR"]
for e in errors:
    print(e["time"], e["msg"])
print(re.sub(r"\d+s", "<n>s", errors[-1]["msg"]))
print(re.findall(r"\b\w{5}\b", "alpha beta gamma delta"))
