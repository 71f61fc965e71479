import bisect
import heapq

jobs = [(5, "low"), (1, "urgent"), (3, "normal"), (2, "high")]
heapq.heapify(jobs)
print([heapq.heappop(jobs)[1] for _ in range(len(jobs))])
print(heapq.nlargest(2, [4, 9, 1, 7]))

grades = [60, 70, 80, 90]
letters = "FDCBA"
print([letters[bisect.bisect(grades, s)] for s in (55, 70, 85, 99)])
