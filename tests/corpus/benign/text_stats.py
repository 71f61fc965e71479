from collections import Counter

text = """It was the best of times, it was the worst of times, it was the age of wisdom,
it was the age of foolishness"""
words = [w.strip(",.").lower() for w in text.split()]
freq = Counter(words)
print(f"{'word':<10}|{'count':>6}")
for word, count in freq.most_common(4):
    print(f"{word:<10}|{count:>6}")
share = freq["was"] / len(words)
print(f"'was' share: {share:.1%}, unique: {len(freq)}, total: {len(words):,}")
