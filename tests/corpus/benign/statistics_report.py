import statistics

samples = [2.5, 3.1, 4.7, 3.3, 2.9, 5.0, 3.8]
print(f"mean={statistics.mean(samples):.3f}")
print(f"median={statistics.median(samples):.3f}")
print(f"stdev={statistics.stdev(samples):.3f}")
print(f"quantiles={[round(q, 2) for q in statistics.quantiles(samples, n=4)]}")
dist = statistics.NormalDist(mu=100, sigma=15)
print(f"P(X < 115) = {dist.cdf(115):.4f}")
